"""Resume appends episodes to an existing dataset; a dataset that does not match the session is
refused before anything on disk changes, with one line naming the difference."""

from __future__ import annotations

import json

import pytest
from dataset_support import check_loadable, read_data, read_episodes, record_episode, so_features

from core.dataset import DatasetRecorder
from hardware.errors import ConfigError

CAMERAS = {"front": (48, 64, 3)}


def _record(root, lengths, resume=False, task="task", **kwargs):
    opener = DatasetRecorder.resume if resume else DatasetRecorder.create
    recorder = opener(root, "alice/pick", 30, "so_follower", so_features(CAMERAS), queue_size=500)
    for episode, length in enumerate(lengths):
        record_episode(recorder, episode, length, task, CAMERAS)
        assert recorder.save_episode().wait(30).error is None
    recorder.close()


def _snapshot(root):
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*")}


def test_resume_appends_new_files_and_continues_indices(tmp_path):
    root = tmp_path / "ds"
    _record(root, [10, 12])
    _record(root, [8, 5], resume=True, task="second task")
    info = check_loadable(root)
    assert info["total_episodes"] == 4 and info["total_frames"] == 35 and info["total_tasks"] == 2
    episodes = read_episodes(root)
    assert list(episodes["data/file_index"]) == [0, 0, 1, 1]
    assert list(episodes["meta/episodes/file_index"]) == [0, 0, 1, 1]
    assert list(episodes["videos/observation.images.front/file_index"]) == [0, 1, 2, 3]
    assert list(episodes["dataset_from_index"]) == [0, 10, 22, 30]
    data = read_data(root)
    assert list(data["index"]) == list(range(35))
    assert list(data["task_index"]) == [0] * 22 + [1] * 13
    stats = json.loads((root / "meta/stats.json").read_text())
    assert stats["index"]["count"] == [35] and stats["index"]["max"] == [34.0]


def test_resume_of_the_lerobot_fixture_appends_after_its_episodes(tmp_path):
    import shutil

    from dataset_support import fixture_dataset

    root = tmp_path / "ds"
    shutil.copytree(fixture_dataset(), root)
    recorder = DatasetRecorder.resume(
        root, "local/fixture", 30, "so_follower", so_features(CAMERAS), queue_size=500
    )
    record_episode(recorder, 3, 20, "Pick up the cube", CAMERAS)
    assert recorder.save_episode().wait(30).episode_index == 3
    recorder.close()
    info = check_loadable(root)
    assert info["total_episodes"] == 4 and info["total_frames"] == 125 and info["total_tasks"] == 2
    last = read_episodes(root).iloc[3]
    assert (last["data/file_index"], last["videos/observation.images.front/file_index"]) == (1, 1)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"fps": 60}, "fps is 30 on disk, 60 requested; use --dataset.fps=30"),
        ({"robot_type": "koch_follower"}, "robot type is so_follower on disk, koch_follower"),
        ({"cameras": {"front": (96, 128, 3)}}, "shape is [48, 64, 3] on disk, [96, 128, 3]"),
        ({"cameras": {"wrist": (48, 64, 3)}}, "feature observation.images.wrist is not in"),
        ({"video": False}, "dtype is video on disk, image requested; use --dataset.video=true"),
    ],
)
def test_resume_refuses_a_different_dataset_before_touching_it(tmp_path, change, message):
    root = tmp_path / "ds"
    _record(root, [6])
    (root / ".lerecord/staging/take-000009").mkdir(parents=True)  # leftovers must survive too
    before = _snapshot(root)
    features = so_features(change.get("cameras", CAMERAS), change.get("video", True))
    with pytest.raises(ConfigError) as error:
        DatasetRecorder.resume(
            root,
            "alice/pick",
            change.get("fps", 30),
            change.get("robot_type", "so_follower"),
            features,
            video=change.get("video", True),
        )
    assert message in str(error.value) and "\n" not in str(error.value)
    assert str(root) in str(error.value)
    assert _snapshot(root) == before


def test_resume_without_a_dataset_says_so(tmp_path):
    with pytest.raises(ConfigError, match="drop --resume=true"):
        DatasetRecorder.resume(tmp_path / "none", "a/b", 30, "so_follower", so_features(CAMERAS))


def test_a_new_dataset_on_an_existing_folder_is_refused(tmp_path):
    root = tmp_path / "ds"
    _record(root, [4])
    before = _snapshot(root)
    with pytest.raises(ConfigError, match="--resume=true .* or another --dataset.repo_id"):
        DatasetRecorder.create(root, "alice/pick", 30, "so_follower", so_features(CAMERAS))
    assert _snapshot(root) == before


def test_default_root_follows_hf_lerobot_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_LEROBOT_HOME", str(tmp_path / "home"))
    recorder = DatasetRecorder.create(None, "alice/x", 30, "so_follower", so_features(CAMERAS))
    assert recorder.root == tmp_path / "home/alice/x"
    assert (tmp_path / "home/alice/x/meta/info.json").exists()
    recorder.close()
    assert not (tmp_path / "home/alice/x").exists()  # no episode saved: no half-dataset left


def test_a_dataset_being_recorded_cannot_be_opened_or_pushed_meanwhile(tmp_path):
    from core.dataset import push_dataset

    root = tmp_path / "ds"
    _record(root, [4])
    recorder = DatasetRecorder.resume(root, "alice/pick", 30, "so_follower", so_features(CAMERAS))
    record_episode(recorder, 1, 5, "task", CAMERAS)  # staged video in progress
    with pytest.raises(ConfigError, match="in use by lerecord"):
        DatasetRecorder.resume(root, "alice/pick", 30, "so_follower", so_features(CAMERAS))
    with pytest.raises(ConfigError, match="in use by lerecord"):
        push_dataset(root, "alice/pick", api=object())
    assert recorder.save_episode().wait(30).error is None  # its staged files were left alone
    recorder.close()
    assert check_loadable(root)["total_episodes"] == 2
    DatasetRecorder.resume(root, "alice/pick", 30, "so_follower", so_features(CAMERAS)).close()
