"""A kill -9 at any moment loses at most the episode in progress: a real process records
episodes and is killed while recording, while staging a save and in the middle of publishing it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from dataset_support import check_loadable, read_episodes

from core.dataset import commit

ROOT = Path(__file__).resolve().parents[1]
WRITER = Path(__file__).with_name("dataset_crash_writer.py")


def _kill_at(root: Path, mode: str, marker: str) -> None:
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'tests'}")
    process = subprocess.Popen(
        [sys.executable, str(WRITER), str(root), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        for line in process.stdout:
            if line.strip() == marker:
                break
        else:
            pytest.fail(f"writer ended before {marker}")
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(10)


def test_kill_while_recording_keeps_the_saved_episodes(tmp_path):
    root = tmp_path / "ds"
    _kill_at(root, "episode", "RECORDING")
    info = check_loadable(root)  # as left by the kill, before any repair
    assert info["total_episodes"] == 2 and info["total_frames"] == 30


def test_kill_while_staging_a_save_keeps_the_saved_episodes(tmp_path):
    root = tmp_path / "ds"
    _kill_at(root, "staging", "STAGING")
    assert any((root / ".lerecord/staging").iterdir())  # the half-done save is only staged
    info = check_loadable(root)
    assert info["total_episodes"] == 2
    assert not commit.recover(root)  # nothing to replay: the leftovers are dropped
    assert not (root / ".lerecord/staging").exists()
    assert check_loadable(root)["total_episodes"] == 2


def test_kill_while_publishing_is_completed_on_the_next_open(tmp_path):
    root = tmp_path / "ds"
    _kill_at(root, "publish", "MOVING")
    # killed after the video and stats moved, before the rows: still the two saved episodes
    assert check_loadable(root)["total_episodes"] == 2
    assert commit.recover(root)  # replays the journal
    info = check_loadable(root)
    assert info["total_episodes"] == 3 and info["total_frames"] == 41
    assert list(read_episodes(root)["length"]) == [15, 15, 11]


def test_kill_while_taking_an_episode_back_out_is_completed_on_the_next_open(tmp_path):
    root = tmp_path / "ds"
    _kill_at(root, "undo", "UNDOING")  # info, episodes metadata and data restored; not stats
    assert commit.recover(root)
    info = check_loadable(root)
    assert info["total_episodes"] == 2 and info["total_frames"] == 30
    assert list(read_episodes(root)["length"]) == [15, 15]
    stats = json.loads((root / "meta/stats.json").read_text())
    assert stats["index"]["count"] == [30]
    assert sorted(p.name for p in root.glob("videos/*/*/*.mp4")) == ["file-000.mp4", "file-001.mp4"]
