"""lerobot 0.6.1 itself loads what we write, item by item (video, h264, images, resumed).

lerobot runs in its own Python 3.12 environment (tests/interop.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from dataset_support import fixture_dataset, record_episode, so_features
from interop import run_lerobot

from core.dataset import DatasetRecorder

COMPAT = Path(__file__).with_name("lerobot_compat")
CAMERAS = {"front": (48, 64, 3), "wrist": (48, 64, 3)}


def _load_with_lerobot(root: Path, repo_id: str) -> dict:
    out = run_lerobot([str(COMPAT / "load_dataset.py"), str(root), repo_id])
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("video, vcodec", [(True, "libsvtav1"), (True, "h264"), (False, "")])
def test_lerobot_loads_every_item(tmp_path, video, vcodec):
    root = tmp_path / "ds"
    recorder = DatasetRecorder.create(
        root,
        "local/t",
        30,
        "so_follower",
        so_features(CAMERAS, video),
        video=video,
        vcodec=vcodec or "libsvtav1",
        queue_size=500,
    )
    for episode, (length, task) in enumerate([(20, "first"), (15, "second"), (12, "first")]):
        record_episode(recorder, episode, length, task, CAMERAS)
        assert recorder.save_episode().wait(30).error is None
    recorder.close()
    result = _load_with_lerobot(root, "local/t")
    assert (result["frames"], result["episodes"], result["tasks"]) == (47, 3, 2)
    assert result["item_tasks"] == ["first"] * 20 + ["second"] * 15 + ["first"] * 12
    assert result["shapes"]["observation.images.wrist"] == [3, 48, 64]
    assert "observation.images.front" in result["stats"]


def test_lerobot_loads_its_dataset_after_we_resumed_it(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(fixture_dataset(), root)
    cameras = {"front": (48, 64, 3)}
    recorder = DatasetRecorder.resume(root, "local/f", 30, "so_follower", so_features(cameras))
    record_episode(recorder, 3, 25, "A new task", cameras)
    assert recorder.save_episode().wait(30).error is None
    recorder.close()
    result = _load_with_lerobot(root, "local/f")
    assert (result["frames"], result["episodes"], result["tasks"]) == (130, 4, 3)
    assert result["item_tasks"][-1] == "A new task"


def test_lerobot_loads_after_rollovers_and_a_removed_episode(tmp_path, monkeypatch):
    from core.dataset import episode_files

    monkeypatch.setattr(episode_files, "DATA_FILES_SIZE_IN_MB", 0.02)  # a new file every episode
    root = tmp_path / "ds"
    recorder = DatasetRecorder.create(
        root, "local/r", 30, "so_follower", so_features(CAMERAS), queue_size=500
    )
    for episode, length in enumerate([20, 15, 12]):
        record_episode(recorder, episode, length, f"task {episode}", CAMERAS)
        assert recorder.save_episode().wait(30).error is None
    assert recorder.remove_last_episode()
    record_episode(recorder, 3, 9, "task 3", CAMERAS)
    assert recorder.save_episode().wait(30).episode_index == 2
    recorder.close()
    result = _load_with_lerobot(root, "local/r")
    assert (result["frames"], result["episodes"], result["tasks"]) == (44, 3, 3)
    assert result["item_tasks"] == ["task 0"] * 20 + ["task 1"] * 15 + ["task 3"] * 9
