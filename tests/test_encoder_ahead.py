"""Encoders are opened ahead of a take's first frame, never at a boundary step: PyAV opens a codec
with the GIL held (SVT-AV1 ~20 ms), which stalls the control thread wherever it happens. The
first take's videos open while the recorder is created (before the session's first step); the
next take's, between episodes, one camera per control step once its previous take is closed."""

from __future__ import annotations

import time

import pytest
from dataset_support import check_loadable, record_episode, so_features, video_timestamps

from core.dataset import DatasetRecorder
from core.dataset.camera_worker import _Take

CAMERAS = {"front": (48, 64, 3), "wrist": (48, 64, 3)}


@pytest.fixture
def opens(monkeypatch):
    """Every encoder opening: (take, camera, frames already written, thread name)."""
    import threading

    seen: list[tuple[int, str, int, str]] = []
    original = _Take.open

    def spy(take: _Take) -> None:
        take_id = int(take.path.parent.name.removeprefix("take-"))
        name = take.worker.key.rsplit(".", 1)[-1]
        seen.append((take_id, name, take.written, threading.current_thread().name))
        original(take)

    monkeypatch.setattr(_Take, "open", spy)
    return seen


def make(root, **kw):
    return DatasetRecorder.create(
        root, "local/ahead", 30, "so_follower", so_features(CAMERAS), vcodec="h264", **kw
    )


def staged(recorder: DatasetRecorder, take: int, camera: str):
    folder = recorder.root / ".lerecord/staging" / f"take-{take:06d}"
    return folder / f"observation.images.{camera}.mp4"


def wait_until(condition, timeout: float = 10.0) -> bool:
    until = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > until:
            return False
        time.sleep(0.005)
    return True


def test_the_first_take_is_open_when_the_recorder_is_created(tmp_path, opens):
    recorder = make(tmp_path / "ds")
    try:
        assert sorted(opens) == [
            (1, "front", 0, "encoder-observation.images.front"),
            (1, "wrist", 0, "encoder-observation.images.wrist"),
        ]
        assert staged(recorder, 1, "front").stat().st_size > 0  # the header is written
    finally:
        recorder.close()


def test_between_episodes_one_camera_opens_per_step_after_its_take_is_closed(tmp_path, opens):
    recorder = make(tmp_path / "ds")
    record_episode(recorder, 0, 12, "first", CAMERAS)
    recorder.between_steps()  # while recording: nothing to open
    handle = recorder.save_episode()
    assert handle.wait(30).error is None  # the takes are closed
    assert len(opens) == 2
    recorder.between_steps()  # the first step of the reset: one camera
    assert wait_until(lambda: len(opens) == 3)
    time.sleep(0.05)
    assert len(opens) == 3 and opens[2][:3] == (2, "front", 0)
    recorder.between_steps()
    assert wait_until(lambda: len(opens) == 4) and opens[3][:3] == (2, "wrist", 0)
    recorder.between_steps()  # all open: nothing more
    record_episode(recorder, 1, 9, "second", CAMERAS)
    assert recorder.save_episode().wait(30).error is None
    recorder.close()
    assert len(opens) == 4  # no take opened at its first frame
    assert all(thread.startswith("encoder-") for *_, thread in opens)
    info = check_loadable(tmp_path / "ds")
    assert info["total_frames"] == 21
    videos = sorted((tmp_path / "ds/videos/observation.images.wrist").rglob("*.mp4"))
    assert sum(len(video_timestamps(video)) for video in videos) == 21


def test_a_take_opened_ahead_and_never_recorded_leaves_nothing(tmp_path, opens):
    recorder = make(tmp_path / "ds")
    record_episode(recorder, 0, 5, "only", CAMERAS)
    recorder.discard_episode()  # re-record: take 2 is opened ahead, then the session ends
    for _ in range(2):
        recorder.between_steps()
    assert wait_until(lambda: len(opens) == 4)
    recorder.close()
    assert not (tmp_path / "ds/.lerecord/staging").exists()


def test_a_short_reset_still_records_the_next_take(tmp_path, opens):
    """The next episode starts before a step opened its videos ahead: it is recorded whole."""
    recorder = make(tmp_path / "ds")
    record_episode(recorder, 0, 6, "first", CAMERAS)
    recorder.save_episode()
    record_episode(recorder, 1, 7, "second", CAMERAS)
    assert recorder.save_episode().wait(30).error is None
    recorder.close()
    assert [(take, written) for take, _, written, _ in opens[2:]] == [(2, 0), (2, 0)]
    assert check_loadable(tmp_path / "ds")["total_frames"] == 13
