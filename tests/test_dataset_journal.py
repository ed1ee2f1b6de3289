"""The crash journal (`.lerecord/commit.json`) is trusted only inside the dataset, the lock is
released (and its file removed) on every exit, and resume metadata is checked before the folder
is claimed."""

from __future__ import annotations

import json

import pytest
from dataset_support import check_loadable, record_episode, so_features

from core.dataset import DatasetRecorder
from core.dataset.commit import JOURNAL, scratch
from hardware.errors import ConfigError

CAMERAS = {"front": (48, 64, 3)}


def _open(root, resume=False):
    opener = DatasetRecorder.resume if resume else DatasetRecorder.create
    return opener(root, "alice/pick", 30, "so_follower", so_features(CAMERAS), queue_size=500)


def _record(root, episodes=1):
    recorder = _open(root)
    for episode in range(episodes):
        record_episode(recorder, episode, 5, "task", CAMERAS)
        assert recorder.save_episode().wait(30).error is None
    recorder.close()


def _tree(folder):
    return {
        p.relative_to(folder): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


@pytest.mark.parametrize(
    "entries",
    [
        [[".lerecord/staging/x", "../outside/target.txt"]],
        [["../outside/victim.txt", None]],
        [["/etc/hostname", "meta/info.json"]],
        [[".lerecord/staging/x", "meta/../../outside/target.txt"]],
        [[".lerecord/staging/x", "link/target.txt"]],  # a symlink inside pointing outside
        [[".lerecord/staging/x"]],
        {"src": "dst"},
    ],
)
def test_a_journal_naming_anything_outside_the_dataset_refuses_the_resume(tmp_path, entries):
    root, outside = tmp_path / "ds", tmp_path / "outside"
    _record(root)
    outside.mkdir()
    (outside / "target.txt").write_text("keep me")
    (outside / "victim.txt").write_text("keep me too")
    (root / "link").symlink_to(outside, target_is_directory=True)
    scratch(root).mkdir(exist_ok=True)
    (scratch(root) / "staging").mkdir(exist_ok=True)
    (scratch(root) / "staging/x").write_text("attacker's bytes")
    (scratch(root) / JOURNAL).write_text(json.dumps(entries))
    before, before_outside = _tree(root), _tree(outside)
    with pytest.raises(ConfigError, match="crash journal") as error:
        _open(root, resume=True)
    assert "\n" not in str(error.value) and "nothing was changed" in str(error.value)
    assert _tree(root) == before and _tree(outside) == before_outside  # no lock taken either


def test_a_journal_inside_the_dataset_is_still_replayed(tmp_path):
    root = tmp_path / "ds"
    _record(root)
    staged = scratch(root) / "staging/new-info.json"
    staged.parent.mkdir(parents=True)
    info = json.loads((root / "meta/info.json").read_text())
    staged.write_text(json.dumps(info | {"splits": {"train": "0:1"}}))
    (scratch(root) / JOURNAL).write_text(
        json.dumps([[str(staged.relative_to(root)), "meta/info.json"]])
    )
    _open(root, resume=True).close()
    assert json.loads((root / "meta/info.json").read_text())["splits"] == {"train": "0:1"}


def test_the_lock_file_goes_when_the_dataset_is_closed(tmp_path):
    root = tmp_path / "ds"
    recorder = _open(root)
    assert (scratch(root) / "lock").exists()
    with pytest.raises(ConfigError, match="in use by lerecord"):
        _open(root, resume=True)
    record_episode(recorder, 0, 5, "task", CAMERAS)
    recorder.save_episode().wait(30)
    recorder.close()
    assert not scratch(root).exists()  # nothing for lerobot's push_to_hub to upload
    _open(root, resume=True).close()
    assert check_loadable(root)["total_episodes"] == 1


@pytest.mark.parametrize(
    "damage",
    [
        "info_not_json",
        "info_no_fps",
        "features_not_objects",
        "tasks_garbage",
        "episodes_garbage",
        "stats_garbage",
    ],
)
def test_corrupt_resume_metadata_is_refused_before_the_lock(tmp_path, damage):
    root = tmp_path / "ds"
    _record(root)
    info_path = root / "meta/info.json"
    info = json.loads(info_path.read_text())
    if damage == "info_not_json":
        info_path.write_text("{not json")
    elif damage == "info_no_fps":
        info_path.write_text(json.dumps({k: v for k, v in info.items() if k != "fps"}))
    elif damage == "features_not_objects":
        info_path.write_text(json.dumps(info | {"features": {"action": 3}}))
    elif damage == "tasks_garbage":
        (root / "meta/tasks.parquet").write_bytes(b"PAR1garbage")
    elif damage == "episodes_garbage":
        next((root / "meta/episodes").rglob("*.parquet")).write_bytes(b"PAR1garbage")
    else:
        (root / "meta/stats.json").write_text('{"action": {"mean": "x"}}')
    before = _tree(root)
    with pytest.raises(ConfigError) as error:
        _open(root, resume=True)
    assert "\n" not in str(error.value)
    assert _tree(root) == before  # not even .lerecord/lock


def test_a_folder_left_by_a_kill_before_the_first_save_is_reused_by_a_plain_rerun(tmp_path):
    root = tmp_path / "ds"
    recorder = _open(root)
    info = (root / "meta/info.json").read_bytes()
    recorder.close()
    assert not root.exists()
    (root / "meta").mkdir(parents=True)  # what a kill -9 before the first save leaves
    (root / "meta/info.json").write_bytes(info)
    scratch(root).mkdir()
    (scratch(root) / "lock").write_text("pid 1")
    recorder = _open(root)
    record_episode(recorder, 0, 5, "task", CAMERAS)
    assert recorder.save_episode().wait(30).error is None
    recorder.close()
    assert check_loadable(root)["total_episodes"] == 1
