"""Load a dataset with lerobot's own LeRobotDataset (offline) and read every item.

Run with a Python that has lerobot installed (test_dataset_lerobot.py does). Prints one JSON
line: number of frames/episodes/tasks and the task of every item."""

import json
import sys

from lerobot.datasets.lerobot_dataset import LeRobotDataset


def main(root: str, repo_id: str) -> None:
    dataset = LeRobotDataset(repo_id, root=root, video_backend="pyav")
    tasks, shapes = [], {}
    for i in range(len(dataset)):
        item = dataset[i]
        tasks.append(item["task"])
        shapes = {k: list(v.shape) for k, v in item.items() if hasattr(v, "shape")}
    print(
        json.dumps(
            {
                "frames": len(dataset),
                "episodes": dataset.num_episodes,
                "tasks": dataset.meta.total_tasks,
                "item_tasks": tasks,
                "shapes": shapes,
                "stats": sorted(dataset.meta.stats),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
