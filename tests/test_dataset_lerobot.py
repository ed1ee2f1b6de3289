"""lerobot 0.6.1 itself loads what we write, item by item (video, h264, images, resumed).

lerobot 0.6.1 needs Python >= 3.12 and cannot be installed in the project's venv, so this runs
only when LERECORD_LEROBOT_PYTHON names a Python with lerobot 0.6.1 installed (its dataset extra;
torchvision is replaced by tests/lerobot_compat/sitecustomize.py). Set up once with e.g.:

    python3.12 -m venv /tmp/lr312 && /tmp/lr312/bin/pip install lerobot==0.6.1 --no-deps
    /tmp/lr312/bin/pip install torch "numpy<2.3" datasets pandas pyarrow "av>=15,<16" jsonlines \
        "draccus>=0.11.6,<0.12" "huggingface-hub>=1.6" einops packaging termcolor tqdm Pillow \
        opencv-python-headless safetensors deepdiff requests gymnasium
    LERECORD_LEROBOT_PYTHON=/tmp/lr312/bin/python pytest tests/test_dataset_lerobot.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from dataset_support import fixture_dataset, record_episode, so_features

from core.dataset import DatasetRecorder

LEROBOT_PYTHON = os.environ.get("LERECORD_LEROBOT_PYTHON")
COMPAT = Path(__file__).with_name("lerobot_compat")
pytestmark = pytest.mark.skipif(
    not LEROBOT_PYTHON, reason="set LERECORD_LEROBOT_PYTHON to a Python with lerobot 0.6.1"
)
CAMERAS = {"front": (48, 64, 3), "wrist": (48, 64, 3)}


def _load_with_lerobot(root: Path, repo_id: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(COMPAT), HF_HUB_OFFLINE="1")
    out = subprocess.run(
        [LEROBOT_PYTHON, str(COMPAT / "load_dataset.py"), str(root), repo_id],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
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
