"""Load a dataset with lerobot's LeRobotDataset (offline) and print, as one JSON line, its
features and, per episode, the values of one scalar feature (e.g. dagger's `intervention`)."""

import json
import sys

from lerobot.datasets.lerobot_dataset import LeRobotDataset


def main(root: str, repo_id: str, key: str) -> None:
    dataset = LeRobotDataset(repo_id, root=root, video_backend="pyav")
    episodes: dict[int, list] = {}
    for i in range(len(dataset)):
        item = dataset[i]
        episodes.setdefault(int(item["episode_index"]), []).append(item[key].item())
    features = {
        k: {"dtype": v["dtype"], "shape": list(v["shape"])} for k, v in dataset.features.items()
    }
    print(json.dumps({"features": features, "episodes": [episodes[e] for e in sorted(episodes)]}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
