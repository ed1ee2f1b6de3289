"""`lerecord edit delete` produces what lerobot 0.6.1's delete_episodes produces (compared field
by field on the same dataset), keeps outcomes, is undone by `edit undo`, refuses bad indices
before touching anything, and a kill -9 at any instant leaves the old or the new dataset."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
from dataset_support import (
    MOTORS,
    check_loadable,
    episode_rows,
    fixture_dataset,
    read_data,
    record_episode,
)
from interop import run_lerobot
from session_support import ROOT

from core.dataset import DatasetRecorder, dataset_features
from core.dataset.commit import recover
from core.dataset.layout import read_json
from core.dataset.outcomes import read_outcomes

COMPAT = Path(__file__).with_name("lerobot_compat")
CAMERAS = {"front": (48, 64, 3)}
TASKS = ["Pick", "Pick", "Place", "Pick", "Place"]
OUTCOMES = ["success", "failure", None, "success", "failure"]


def _recorded(root: Path, lengths=(6, 4, 5, 7, 3)) -> Path:
    features = dataset_features(_observation(), _action(), video=True, outcomes=True)
    recorder = DatasetRecorder.create(root, "local/prune", 30, "so_follower", features,
                                      vcodec="h264")  # fmt: skip
    for episode, length in enumerate(lengths):
        record_episode(recorder, episode, length, TASKS[episode], CAMERAS)
        recorder.save_episode(OUTCOMES[episode])
    recorder.close()
    return root


def _observation() -> dict:
    return {**_action(), **CAMERAS}


def _action() -> dict:
    return {f"{m}.pos": float for m in MOTORS}


def _edit(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core.cli", "edit", "local/prune", f"--root={root}", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _lerobot_delete(src: Path, out: Path, episodes: list[int], repo_id="local/prune") -> None:
    done = run_lerobot(
        [str(COMPAT / "delete_episodes.py"), str(src), repo_id, str(out), json.dumps(episodes)]
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _tasks(root: Path) -> list[str]:
    tasks = pd.read_parquet(root / "meta/tasks.parquet")
    return list(tasks.sort_values("task_index").index)


def _same_dataset(ours: Path, theirs: Path) -> None:
    """Field by field: info, tasks, episodes metadata, data rows, stats, videos."""
    assert read_json(ours / "meta/info.json") == read_json(theirs / "meta/info.json")
    # lerobot numbers the remaining tasks in the order of a Python set (it varies from run to
    # run); lerecord keeps their order. Tasks are compared by name, rows by task name.
    our_tasks, their_tasks = (_tasks(r) for r in (ours, theirs))
    assert sorted(our_tasks) == sorted(their_tasks)
    our_rows, their_rows = episode_rows(ours), episode_rows(theirs)
    assert len(our_rows) == len(their_rows)
    for mine, lerobots in zip(our_rows, their_rows, strict=True):
        assert set(mine) - set(lerobots) == {"outcome"}  # lerobot drops lerecord's column
        for key, value in lerobots.items():
            if isinstance(value, float) or key.startswith("stats/"):
                assert np.allclose(mine[key], value, atol=1e-9), (mine["episode_index"], key)
            else:
                assert mine[key] == value, (mine["episode_index"], key)
    our_data, their_data = read_data(ours), read_data(theirs)
    our_data["task_index"] = our_data["task_index"].map(our_tasks.__getitem__)
    their_data["task_index"] = their_data["task_index"].map(their_tasks.__getitem__)
    pd.testing.assert_frame_equal(our_data, their_data, check_dtype=True)
    our_stats, their_stats = (read_json(r / "meta/stats.json") for r in (ours, theirs))
    assert sorted(our_stats) == sorted(their_stats)
    for key, stats in their_stats.items():
        for stat, value in stats.items():
            assert np.allclose(our_stats[key][stat], value, atol=1e-9), (key, stat)
    videos = sorted(p.relative_to(theirs) for p in theirs.glob("videos/**/*.mp4"))
    assert sorted(p.relative_to(ours) for p in ours.glob("videos/**/*.mp4")) == videos
    for rel in videos:
        assert _frames(ours / rel) == _frames(theirs / rel), rel


def test_delete_matches_lerobot_and_keeps_the_outcomes(tmp_path):
    root = _recorded(tmp_path / "ours")
    source = tmp_path / "source"
    shutil.copytree(root, source, ignore=shutil.ignore_patterns(".lerecord"))
    _lerobot_delete(source, tmp_path / "theirs", [2, 4])
    done = _edit(root, "delete", "--episodes", "2,4")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "deleted episodes 2, 4; 3 episodes remain, renumbered 0 to 2\n"
    _same_dataset(root, tmp_path / "theirs")
    check_loadable(root)
    assert read_outcomes(root) == {0: "success", 1: "failure", 2: "success"}
    assert list(pd.read_parquet(root / "meta/tasks.parquet").index) == ["Pick"]


def test_delete_cuts_a_video_shared_with_deleted_episodes_as_lerobot_does(tmp_path):
    root = tmp_path / "ours"
    shutil.copytree(fixture_dataset(), root)
    _lerobot_delete(fixture_dataset(), tmp_path / "theirs", [1], repo_id="local/fixture")
    done = _edit(root, "delete", "--episodes", "1")
    assert done.returncode == 0, done.stderr
    _same_dataset(root, tmp_path / "theirs")
    check_loadable(root)


def test_undo_puts_the_dataset_back_byte_for_byte(tmp_path):
    root = _recorded(tmp_path / "ds")
    before = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()
              and ".lerecord" not in p.parts}  # fmt: skip
    assert _edit(root, "delete", "--episodes", "0,3").returncode == 0
    assert read_json(root / "meta/info.json")["total_episodes"] == 3
    done = _edit(root, "undo")
    assert done.returncode == 0, done.stderr
    after = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()
             and ".lerecord" not in p.parts}  # fmt: skip
    assert after == before
    again = _edit(root, "undo")
    assert again.returncode == 2 and "nothing to undo" in again.stderr


def test_label_relabels_one_episode_and_undo_reverts_it(tmp_path):
    root = _recorded(tmp_path / "ds")
    done = _edit(root, "label", "--episode", "2", "--outcome", "success")
    assert done.returncode == 0, done.stderr
    assert read_outcomes(root)[2] == "success"
    check_loadable(root)
    assert _edit(root, "undo").returncode == 0
    assert read_outcomes(root)[2] is None


def test_task_gives_one_episode_another_task_and_undo_reverts_it(tmp_path):
    root = _recorded(tmp_path / "ds")
    done = _edit(root, "task", "--episode", "2", "--task", "Stack")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "episode 2: task 'Stack'\n"
    tasks = pd.read_parquet(root / "meta/tasks.parquet")["task_index"].to_dict()
    assert tasks == {"Pick": 0, "Place": 1, "Stack": 2}
    data = read_data(root)
    assert set(data[data["episode_index"] == 2]["task_index"]) == {2}
    check_loadable(root)
    assert _edit(root, "undo").returncode == 0
    tasks = pd.read_parquet(root / "meta/tasks.parquet")["task_index"].to_dict()
    assert tasks == {"Pick": 0, "Place": 1}


@pytest.mark.parametrize("args, message", [(["9", "Stack"], "9 is not in"), (["1", " "], "empty")])
def test_a_bad_task_edit_changes_nothing_and_exits_2(tmp_path, args, message):
    root = _recorded(tmp_path / "ds", lengths=(3, 3, 3, 3, 3))
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    done = _edit(root, "task", "--episode", args[0], "--task", args[1])
    assert done.returncode == 2 and message in done.stderr and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    "episodes, message",
    [("9", "9 not in the dataset"), ("0,1,2,3,4", "that is every episode"), ("a,b", "3,7")],
)
def test_bad_episodes_change_nothing_and_exit_2(tmp_path, episodes, message):
    root = _recorded(tmp_path / "ds", lengths=(3, 3, 3, 3, 3))
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    done = _edit(root, "delete", "--episodes", episodes)
    assert done.returncode == 2 and message in done.stderr and done.stdout == ""
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def _state(root: Path) -> tuple:
    """What a reader sees of the dataset, after the recovery every opener runs."""
    recover(root)
    info = check_loadable(root)
    data = read_data(root)
    return (
        info["total_episodes"],
        info["total_frames"],
        tuple(data["episode_index"]),
        tuple(np.stack(data["observation.state"].to_numpy()).ravel().round(4)),
        tuple(read_outcomes(root).values()),
    )


def test_a_kill_at_any_instant_leaves_the_old_or_the_new_dataset(tmp_path):
    original = _recorded(tmp_path / "original")
    old = _state(original)
    new_root = tmp_path / "new"
    shutil.copytree(original, new_root)
    started = time.monotonic()
    assert _edit(new_root, "delete", "--episodes", "1,3").returncode == 0
    duration = time.monotonic() - started
    new = _state(new_root)
    assert new != old
    for i, fraction in enumerate(np.linspace(0.6, 1.05, 8)):  # startup is most of a run
        root = tmp_path / f"killed-{i}"
        shutil.copytree(original, root)
        proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "edit", "local/prune", f"--root={root}",
             "delete", "--episodes", "1,3"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(duration * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        state = _state(root)
        assert state in (old, new), f"killed at {fraction:.2f} of the run: a broken dataset"
