"""Codecs are opened ahead of a take's first frame and freed at a moment of the recorder's
choosing, each right after a control step, one per step, never at a boundary step: PyAV opens
and frees a codec with the GIL held (SVT-AV1 10-20 ms each), which stalls the control thread
wherever it happens. The first take's videos open while the recorder is created (before the
session's first step); between episodes each camera's closed codec is freed, then the next
take's video opened, one camera per step."""

from __future__ import annotations

import time

import pytest
from dataset_support import check_loadable, record_episode, so_features, video_timestamps

from core.dataset import DatasetRecorder
from core.dataset.camera_worker import _Take

CAMERAS = {"front": (48, 64, 3), "wrist": (48, 64, 3)}


def _who(take: _Take) -> tuple[int, str]:
    return int(take.path.parent.name.removeprefix("take-")), take.worker.key.rsplit(".", 1)[-1]


@pytest.fixture
def opens(monkeypatch):
    """Every encoder opened: (take, camera, frames already written, thread name), in order."""
    import threading

    seen: list[tuple[int, str, int, str]] = []
    original = _Take.open

    def spy(take: _Take) -> None:
        written = take.written
        original(take)
        seen.append((*_who(take), written, threading.current_thread().name))

    monkeypatch.setattr(_Take, "open", spy)
    return seen


@pytest.fixture
def codec_calls(monkeypatch, opens):
    """Every codec opened or freed, in order: ("open" | "free", take, camera)."""
    calls: list[tuple[str, int, str]] = []
    opened, freed = _Take.open, _Take.free

    def on_open(take: _Take) -> None:
        opened(take)
        calls.append(("open", *_who(take)))

    def on_free(take: _Take) -> None:
        had = take.stream is not None
        freed(take)
        if had:
            calls.append(("free", *_who(take)))

    monkeypatch.setattr(_Take, "open", on_open)
    monkeypatch.setattr(_Take, "free", on_free)
    return calls


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


def test_between_episodes_one_codec_call_per_step_frees_then_opens(tmp_path, codec_calls):
    recorder = make(tmp_path / "ds")
    assert [call[0] for call in codec_calls] == ["open", "open"]  # take 1, before any step
    record_episode(recorder, 0, 12, "first", CAMERAS)
    recorder.between_steps()  # while recording: nobody waits for a turn
    handle = recorder.save_episode()
    assert handle.wait(30).error is None  # the takes are closed: the save went on
    time.sleep(0.1)
    assert len(codec_calls) == 2  # the closed codecs wait for a step
    for made in range(3, 7):
        recorder.between_steps()
        assert wait_until(lambda n=made: len(codec_calls) == n)
        time.sleep(0.05)
        assert len(codec_calls) == made  # one per step
    between = codec_calls[2:]
    assert sorted(between[:2]) == [("free", 1, "front"), ("free", 1, "wrist")]
    assert sorted(between[2:]) == [("open", 2, "front"), ("open", 2, "wrist")]
    recorder.between_steps()  # all open: nothing more
    record_episode(recorder, 1, 9, "second", CAMERAS)
    assert recorder.save_episode().wait(30).error is None
    recorder.close()  # the session's end: the last codecs freed at once, nothing more opened
    assert sorted(codec_calls[6:]) == [("free", 2, "front"), ("free", 2, "wrist")]
    info = check_loadable(tmp_path / "ds")
    assert info["total_frames"] == 21
    videos = sorted((tmp_path / "ds/videos/observation.images.wrist").rglob("*.mp4"))
    assert sum(len(video_timestamps(video)) for video in videos) == 21


def test_the_codecs_are_opened_on_the_encoder_threads_never_at_a_first_frame(tmp_path, opens):
    recorder = make(tmp_path / "ds")
    record_episode(recorder, 0, 5, "first", CAMERAS)
    recorder.save_episode()
    for _ in range(4):
        recorder.between_steps()
    assert wait_until(lambda: len(opens) == 4)
    record_episode(recorder, 1, 5, "second", CAMERAS)
    assert recorder.save_episode().wait(30).error is None
    recorder.close()
    assert [written for *_, written, _ in opens] == [0, 0, 0, 0]
    assert all(thread.startswith("encoder-") for *_, thread in opens)


def test_a_take_opened_ahead_and_never_recorded_leaves_nothing(tmp_path, opens):
    recorder = make(tmp_path / "ds")
    record_episode(recorder, 0, 5, "only", CAMERAS)
    recorder.discard_episode()  # re-record: take 2 is opened ahead, then the session ends
    for _ in range(4):
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


def test_steps_that_stop_at_the_boundary_leave_no_codec_waiting(tmp_path, codec_calls):
    """The control loop gives one turn and dies at the episode's end: the codecs waiting for a
    turn go on their own within a second each, and closing the recorder does not wait."""
    recorder = make(tmp_path / "ds")
    record_episode(recorder, 0, 8, "first", CAMERAS)
    recorder.between_steps()  # the loop was stepping
    handle = recorder.save_episode()
    assert handle.wait(30).error is None
    assert wait_until(lambda: len(codec_calls) == 4, timeout=5.0)  # freed without a step
    started = time.monotonic()
    recorder.close()
    assert time.monotonic() - started < 3.0
    assert check_loadable(tmp_path / "ds")["total_frames"] == 8
