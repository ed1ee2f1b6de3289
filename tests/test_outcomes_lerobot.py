"""lerobot 0.6.1 loads a dataset with outcomes unchanged: every item has its next.* values, the
episodes metadata its `outcome`, and the stats are those lerobot computes from the frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from dataset_support import MOTORS, record_episode
from interop import run_lerobot

from core.dataset import DatasetRecorder, dataset_features

SCRIPT = Path(__file__).resolve().parent / "lerobot_compat/load_outcomes.py"
OBSERVATION = {f"{name}.pos": float for name in MOTORS}


def test_lerobot_loads_outcomes_per_frame_and_per_episode(tmp_path):
    root = tmp_path / "ds"
    cameras = {"front": (48, 64, 3)}
    features = dataset_features({**OBSERVATION, **cameras}, OBSERVATION, video=True, outcomes=True)
    recorder = DatasetRecorder.create(
        root, "local/judged", 30, "so_follower", features, vcodec="h264"
    )
    lengths = [6, 4, 5, 3]
    outcomes = ["success", None, "failure", None]
    for episode, (length, outcome) in enumerate(zip(lengths, outcomes, strict=True)):
        record_episode(recorder, episode, length, "Pick", cameras)
        recorder.save_episode(outcome)
    recorder.mark_outcome(1, "success")  # relabelled after its save
    recorder.mark_outcome(0, "failure")
    assert recorder.wait_saves(60)
    recorder.close()

    done = run_lerobot([str(SCRIPT), str(root), "local/judged"])
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["outcomes"] == ["failure", "success", "failure", None]
    assert seen["features"]["next.success"] == {"dtype": "bool", "shape": [1], "names": None}
    items = seen["items"]
    assert [it["episode_index"] for it in items] == [
        e for e, n in enumerate(lengths) for _ in range(n)
    ]
    last = np.cumsum(lengths) - 1
    assert [i for i, it in enumerate(items) if it["next.done"]] == last.tolist()
    assert [i for i, it in enumerate(items) if it["next.success"]] == [last[1]]
    assert [i for i, it in enumerate(items) if it["next.reward"] == 1.0] == [last[1]]
    for key, stats in seen["stats"].items():
        for stat, value in stats.items():
            assert np.allclose(value, seen["recomputed"][key][stat], atol=1e-6), (key, stat)
