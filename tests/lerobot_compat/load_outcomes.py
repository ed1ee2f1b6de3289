"""Load a dataset with outcomes through lerobot 0.6.1 and report what lerobot sees of them.

Run with the interop interpreter (test_outcomes_lerobot.py does). Prints one JSON line: each
item's episode and next.* values, the episodes metadata's `outcome` column, the dataset stats of
the next.* features, and those stats as lerobot computes them itself from the loaded frames
(compute_episode_stats per episode, aggregate_stats over the episodes)."""

import json
import sys

import numpy as np
from lerobot.datasets.compute_stats import aggregate_stats, compute_episode_stats
from lerobot.datasets.lerobot_dataset import LeRobotDataset

KEYS = ("next.reward", "next.success", "next.done")


def main(root: str, repo_id: str) -> None:
    dataset = LeRobotDataset(repo_id, root=root, video_backend="pyav")
    items = []
    for i in range(len(dataset)):
        item = dataset[i]
        items.append(
            {"episode_index": int(item["episode_index"]), **{k: item[k].tolist() for k in KEYS}}
        )
    features = {k: dataset.meta.features[k] for k in KEYS}
    per_episode = []
    for ep in range(dataset.num_episodes):
        rows = [it for it in items if it["episode_index"] == ep]
        data = {k: np.array([[r[k]] for r in rows], dtype=features[k]["dtype"]) for k in KEYS}
        per_episode.append(compute_episode_stats(data, features))
    recomputed = aggregate_stats(per_episode)
    print(
        json.dumps(
            {
                "items": items,
                "outcomes": list(dataset.meta.episodes["outcome"]),
                "features": features,
                "stats": {
                    k: {s: np.asarray(v).tolist() for s, v in dataset.meta.stats[k].items()}
                    for k in KEYS
                },
                "recomputed": {
                    k: {s: np.asarray(v).tolist() for s, v in recomputed[k].items()} for k in KEYS
                },
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
