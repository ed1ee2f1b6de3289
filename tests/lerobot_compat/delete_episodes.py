"""Run lerobot 0.6.1's own delete_episodes on a dataset (the reference for `lerecord edit
delete`). Arguments: source root, repo id, output root, episodes as JSON ("[1, 3]")."""

import json
import sys

from lerobot.datasets.dataset_tools import delete_episodes
from lerobot.datasets.lerobot_dataset import LeRobotDataset


def main(root: str, repo_id: str, output: str, episodes: str) -> None:
    dataset = LeRobotDataset(repo_id, root=root, video_backend="pyav")
    result = delete_episodes(dataset, json.loads(episodes), output_dir=output, repo_id=repo_id)
    print(json.dumps({"episodes": result.meta.total_episodes, "frames": result.meta.total_frames}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
