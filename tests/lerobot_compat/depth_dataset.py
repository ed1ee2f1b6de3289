"""What lerobot 0.6.1 makes of a dataset with a depth camera. argv: root, repo_id, camera name,
JSON dict of the DepthEncoderConfig arguments the videos were encoded with. Prints one JSON line:
the camera features lerobot's `hw_to_dataset_features` declares for a (H, W, 3) camera with
use_depth, the depth feature's info as lerobot's writer completes it (`depth_unit`, then
`get_video_info` of the recorded video), and the first depth frame LeRobotDataset returns.
Run in the lerobot 0.6.1 interop environment (tests/test_depth.py)."""

import json
import sys
from pathlib import Path

import numpy as np
from lerobot.configs.video import DepthEncoderConfig, infer_depth_unit
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from lerobot.datasets.video_utils import get_video_info
from lerobot.utils.feature_utils import hw_to_dataset_features

root, repo_id, camera, settings = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
dataset = LeRobotDataset(repo_id, root=root, video_backend="pyav")
shape = tuple(dataset.meta.features[f"observation.images.{camera}"]["shape"])
declared = hw_to_dataset_features(
    {camera: shape, f"{camera}_depth": (shape[0], shape[1], 1)}, "observation"
)
key = f"observation.images.{camera}_depth"
video = Path(root) / dataset.meta.get_video_file_path(0, key)
info = {"depth_unit": infer_depth_unit(np.uint16)}
info.update(get_video_info(video, DepthEncoderConfig(**settings)))
item = dataset[0]
depth = item[key].numpy()
print(
    json.dumps(
        {
            "declared": {k: {**v, "shape": list(v["shape"])} for k, v in declared.items()},
            "info": info,
            "depth_keys": list(dataset.meta.depth_keys),
            "depth_shape": list(depth.shape),
            "depth_dtype": str(depth.dtype),
            "depth": depth.reshape(-1).tolist(),
            "stats_min": np.asarray(dataset.meta.stats[key]["min"]).tolist(),
            "frames": len(dataset),
        }
    )
)
