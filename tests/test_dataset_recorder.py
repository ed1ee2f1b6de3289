"""The recorder as the session engine drives it: re-record, dropped frames, image mode, h264,
a full-size camera, empty episodes and events — each checked on the dataset written to disk."""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from pathlib import Path

import cv2
import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest
from dataset_support import (
    check_loadable,
    episode_rows,
    frame_image,
    read_data,
    record_episode,
    so_features,
    video_timestamps,
)

from core.dataset import DatasetRecorder
from core.dataset.camera_worker import ENCODER_NICE, _realtime_threads
from core.priority import CAP_SYS_NICE

SMALL = {"front": (48, 64, 3)}


def make(root, cameras=SMALL, video=True, **kwargs):
    kwargs.setdefault("queue_size", 500)
    return DatasetRecorder.create(
        root, "local/test", 30, "so_follower", so_features(cameras, video), video=video, **kwargs
    )


def test_rerecord_discards_the_frames_of_the_episode(tmp_path):
    events = []
    recorder = make(tmp_path / "ds", on_written=events.append)
    record_episode(recorder, 0, 20, "keep", SMALL)
    assert recorder.save_episode().wait(30).error is None
    record_episode(recorder, 1, 25, "thrown away", SMALL)
    assert recorder.discard_episode() == 25
    record_episode(recorder, 2, 15, "keep", SMALL)
    written = recorder.save_episode().wait(30)
    recorder.close()
    assert written.episode_index == 1 and written.frames == 15
    assert [e.episode_index for e in events] == [0, 1]
    info = check_loadable(tmp_path / "ds")
    assert info["total_episodes"] == 2 and info["total_frames"] == 35 and info["total_tasks"] == 1
    data = read_data(tmp_path / "ds")
    assert list(data["episode_index"]) == [0] * 20 + [1] * 15
    assert not (tmp_path / "ds/.lerecord/staging").exists()


def test_a_discarded_av1_episode_ends_its_stream_so_svt_says_nothing(tmp_path, capfd):
    """SVT-AV1 prints "deinit called without sending EOS!" on stderr (from C, at fd 2) when an
    encoder is freed mid-stream; a discard ends the stream first. Its real errors still print:
    nothing is muted."""
    recorder = make(tmp_path / "ds")
    record_episode(recorder, 0, 20, "thrown away", SMALL)
    assert recorder.discard_episode() == 20
    record_episode(recorder, 0, 10, "keep", SMALL)
    assert recorder.save_episode().wait(30).error is None
    recorder.close()
    gc.collect()  # the codec context is freed at the latest here
    err = capfd.readouterr().err
    assert "deinit" not in err and "EOS" not in err, err
    assert check_loadable(tmp_path / "ds")["total_frames"] == 10


def test_a_dropped_frame_is_counted_and_the_video_keeps_one_frame_per_row(tmp_path):
    """A tiny encoder queue overflows under a burst of full-size frames."""
    cameras = {"front": (480, 640, 3)}
    recorder = make(tmp_path / "ds", cameras, queue_size=2)
    record_episode(recorder, 0, 40, "burst", cameras)
    dropped_during = recorder.dropped_frames
    written = recorder.save_episode().wait(60)
    recorder.close()
    assert dropped_during > 0
    assert written.error is None and written.repeated_frames == dropped_during
    check_loadable(tmp_path / "ds")
    times = video_timestamps(tmp_path / "ds/videos/observation.images.front/chunk-000/file-000.mp4")
    assert len(times) == 40


def test_a_missing_camera_frame_repeats_the_previous_one(tmp_path):
    recorder = make(tmp_path / "ds")
    recorder.start_episode()
    for i in range(10):
        images = {} if i in (3, 9) else {"front": frame_image(SMALL["front"], 0, i)}
        recorder.add_frame(np.zeros(6), np.ones(6), images, "task")
    assert recorder.dropped_frames == 2
    written = recorder.save_episode().wait(30)
    recorder.close()
    assert written.repeated_frames == 2
    check_loadable(tmp_path / "ds")


def test_video_false_stores_png_images_in_the_parquet(tmp_path):
    recorder = make(tmp_path / "ds", video=False)
    for episode, length in enumerate([12, 9]):
        record_episode(recorder, episode, length, "task", SMALL)
        assert recorder.save_episode().wait(30).error is None
    recorder.close()
    info = check_loadable(tmp_path / "ds")
    feature = info["features"]["observation.images.front"]
    assert feature["dtype"] == "image" and feature["info"] == {"is_depth_map": False}
    assert info["video_path"] is None and not (tmp_path / "ds/videos").exists()
    schema = pq.read_schema(tmp_path / "ds/data/chunk-000/file-000.parquet")
    assert str(schema.field("observation.images.front").type) == (
        "struct<bytes: binary, path: string>"
    )
    row = pq.read_table(tmp_path / "ds/data/chunk-000/file-000.parquet").to_pylist()[12 + 4]
    png = np.frombuffer(row["observation.images.front"]["bytes"], np.uint8)
    image = cv2.imdecode(png, cv2.IMREAD_COLOR)[:, :, ::-1]
    np.testing.assert_array_equal(image, frame_image(SMALL["front"], 1, 4))  # PNG: lossless
    assert row["observation.images.front"]["path"] == "frame-000004.png"
    files = [str(p) for p in (tmp_path / "ds/data").glob("*/*.parquet")]
    loaded = datasets.load_dataset("parquet", data_files=files, split="train")
    assert loaded[16]["observation.images.front"].size == (64, 48)


def test_h264_writes_the_codec_lerobot_names_h264(tmp_path):
    recorder = make(tmp_path / "ds", vcodec="h264")
    record_episode(recorder, 0, 30, "task", SMALL)
    assert recorder.save_episode().wait(30).error is None
    recorder.close()
    info = check_loadable(tmp_path / "ds")
    video = info["features"]["observation.images.front"]["info"]
    assert video["video.codec"] == "h264" and video["video.pix_fmt"] == "yuv420p"
    assert video["video.g"] == 2 and video["video.crf"] == 30


def test_two_full_size_cameras(tmp_path):
    cameras = {"front": (480, 640, 3), "wrist": (480, 640, 3)}
    recorder = make(tmp_path / "ds", cameras, queue_size=100)
    record_episode(recorder, 0, 30, "task", cameras, fps=60)
    written = recorder.save_episode().wait(60)
    recorder.close()
    assert written.error is None and recorder.dropped_frames == 0
    info = check_loadable(tmp_path / "ds")
    front = info["features"]["observation.images.wrist"]["info"]
    assert (front["video.height"], front["video.width"], front["video.codec"]) == (480, 640, "av1")
    stats = pq.read_table(tmp_path / "ds/meta/episodes/chunk-000/file-000.parquet").to_pylist()[0]
    assert stats["stats/observation.images.front/count"] == [30]


def test_an_empty_episode_is_not_written(tmp_path):
    recorder = make(tmp_path / "ds")
    recorder.start_episode()
    written = recorder.save_episode().wait(5)
    assert written.error and written.episode_index == -1
    record_episode(recorder, 0, 5, "task", SMALL)
    assert recorder.save_episode().wait(30).episode_index == 0
    recorder.close()
    recorder.close()  # idempotent
    assert check_loadable(tmp_path / "ds")["total_episodes"] == 1
    assert [e.episode_index for e in recorder.events()] == [-1, 0]


def test_wrong_state_size_is_refused(tmp_path):
    recorder = make(tmp_path / "ds")
    with pytest.raises(ValueError, match="state"):
        recorder.add_frame(np.zeros(5), np.zeros(6), {}, "task")
    recorder.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux scheduling policies")
def test_codec_threads_never_keep_real_time_priority(tmp_path):
    """SVT-AV1 makes its threads SCHED_FIFO 99 when run as root; they would starve the loop."""
    before = _realtime_threads()
    recorder = make(tmp_path / "ds")
    record_episode(recorder, 0, 20, "task", SMALL)
    deadline = time.monotonic() + 10
    while recorder.encoder_backlog and time.monotonic() < deadline:
        time.sleep(0.01)
    during = _realtime_threads() - before  # the encoder is open: its threads exist now
    recorder.save_episode().wait(30)
    recorder.close()
    assert during == set()


def _status(tid: int | str, field: str) -> str:
    for line in Path(f"/proc/self/task/{tid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split()[1]
    raise KeyError(field)


def _may_be_real_time(tid: int | str) -> bool:
    return bool(int(_status(tid, "CapEff"), 16) >> CAP_SYS_NICE & 1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux capabilities")
def test_codec_threads_start_without_the_right_to_real_time(tmp_path):
    """Not demoted after the fact: the encoder thread gives up CAP_SYS_NICE before it opens a
    codec, so SVT-AV1's request for SCHED_FIFO 99 is refused and its threads start normal, at the
    encoder's nice (as root the test process itself keeps the right)."""
    before = set(os.listdir("/proc/self/task"))
    recorder = make(tmp_path / "ds")
    record_episode(recorder, 0, 20, "task", SMALL)
    deadline = time.monotonic() + 10
    while recorder.encoder_backlog and time.monotonic() < deadline:
        time.sleep(0.01)
    worker = next(iter(recorder._workers.values()))
    niced = [t for t in set(os.listdir("/proc/self/task")) - before
             if os.getpriority(os.PRIO_PROCESS, int(t)) == ENCODER_NICE]  # fmt: skip
    codec = [t for t in niced if int(t) != worker._thread.native_id]
    rights = {t: _may_be_real_time(t) for t in niced}
    recorder.save_episode().wait(30)
    recorder.close()
    assert len(codec) >= 1, "the codec's own threads, started by the encoder thread"
    assert not any(rights.values()), rights
    # the rest of the process keeps the right (as root)
    assert _may_be_real_time(threading.get_native_id()) == (os.geteuid() == 0)


def test_a_full_data_file_rolls_over_to_the_next_file(tmp_path, monkeypatch):
    """Past data_files_size_in_mb the next episode starts a new data and metadata file."""
    from core.dataset import episode_files

    monkeypatch.setattr(episode_files, "DATA_FILES_SIZE_IN_MB", 0.01)  # ~10 kB
    recorder = make(tmp_path / "ds", video=False)
    for episode, length in enumerate([70, 3, 80]):
        record_episode(recorder, episode, length, "task", SMALL)
        assert recorder.save_episode().wait(30).error is None
    recorder.close()
    info = check_loadable(tmp_path / "ds")
    assert info["data_files_size_in_mb"] == 100
    rows = episode_rows(tmp_path / "ds")
    assert [r["data/file_index"] for r in rows] == [0, 1, 2]
    sizes = [len(pq.read_table(p)) for p in sorted((tmp_path / "ds/data/chunk-000").iterdir())]
    assert sizes == [70, 3, 80]
    groups = pq.ParquetFile(tmp_path / "ds/data/chunk-000/file-002.parquet").num_row_groups
    assert groups == 2  # image rows are written 64 at a time


def test_rerecord_after_a_save_takes_that_episode_back_out(tmp_path):
    """Re-record pressed during the reset: the episode just saved leaves the dataset."""
    root = tmp_path / "ds"
    recorder = make(root, video=False)
    before_files = None
    for episode, length in enumerate([10, 6]):
        record_episode(recorder, episode, length, "task", SMALL)
        assert recorder.save_episode().wait(30).error is None
        if episode == 0:
            before_files = {
                p: p.read_bytes()
                for p in root.rglob("*")
                if ".lerecord" not in str(p) and p.is_file()
            }
    assert recorder.remove_last_episode()  # queued behind the save, never blocks
    assert not recorder.remove_last_episode()  # only the last one
    recorder.wait_saves()
    after = {
        p: p.read_bytes() for p in root.rglob("*") if ".lerecord" not in str(p) and p.is_file()
    }
    assert after == before_files  # byte for byte the dataset as it was after episode 0
    record_episode(recorder, 2, 8, "another task", SMALL)
    assert recorder.save_episode().wait(30).episode_index == 1
    recorder.close()
    info = check_loadable(root)
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (2, 18, 2)
    assert list(read_data(root)["episode_index"]) == [0] * 10 + [1] * 8


def test_a_take_saved_before_the_removal_is_applied_gets_the_removed_index(tmp_path):
    """Re-record during a reset, then the new take saved at once: its index is the one taken
    out, whether or not the saver has applied the removal yet (a mark follows the index)."""
    recorder = make(tmp_path / "ds", video=False)
    record_episode(recorder, 0, 6, "task", SMALL)
    first = recorder.save_episode()
    assert recorder.remove_last_episode()
    record_episode(recorder, 0, 4, "task", SMALL)
    again = recorder.save_episode()  # handed over behind the removal, not after it
    assert (first.expected_index, again.expected_index) == (0, 0)
    assert again.wait(30).episode_index == 0
    recorder.close()
    assert list(read_data(tmp_path / "ds")["episode_index"]) == [0] * 4


def test_rerecord_removes_a_video_episode_and_its_files(tmp_path):
    root = tmp_path / "ds"
    recorder = make(root)
    for episode in range(2):
        record_episode(recorder, episode, 9, "task", SMALL)
        recorder.save_episode()
    assert recorder.remove_last_episode()  # runs after the pending save
    recorder.close()
    info = check_loadable(root)
    assert info["total_episodes"] == 1
    videos = sorted(p.name for p in (root / "videos/observation.images.front/chunk-000").iterdir())
    assert videos == ["file-000.mp4"]
    stats = __import__("json").loads((root / "meta/stats.json").read_text())
    assert stats["index"]["count"] == [9]


def test_nothing_to_remove_after_a_resume(tmp_path):
    root = tmp_path / "ds"
    recorder = make(root)
    record_episode(recorder, 0, 5, "task", SMALL)
    recorder.save_episode().wait(30)
    recorder.close()
    recorder = DatasetRecorder.resume(root, "local/test", 30, "so_follower", so_features(SMALL))
    assert not recorder.remove_last_episode()  # an episode of an earlier session stays
    recorder.close()
    assert check_loadable(root)["total_episodes"] == 1


def test_a_robot_without_cameras_records_state_and_action_only(tmp_path):
    recorder = make(tmp_path / "ds", cameras={})
    record_episode(recorder, 0, 12, "task", {})
    assert recorder.save_episode().wait(30).error is None
    recorder.close()
    info = check_loadable(tmp_path / "ds")
    assert list(info["features"])[:2] == ["action", "observation.state"]
    assert info["video_path"] is not None  # lerobot sets it from the video flag
    assert not (tmp_path / "ds/videos").exists()


def test_a_camera_giving_the_wrong_size_fails_that_save_only(tmp_path, caplog):
    recorder = make(tmp_path / "ds")
    recorder.start_episode()
    for _ in range(10):
        recorder.add_frame(
            np.zeros(6), np.zeros(6), {"front": np.zeros((10, 10, 3), np.uint8)}, "t"
        )
    written = recorder.save_episode().wait(30)
    assert written.error and "frame shape (10, 10, 3)" in written.error
    assert sum("not written" in r.getMessage() for r in caplog.records) == 1  # logged once
    record_episode(recorder, 1, 6, "task", SMALL)
    assert recorder.save_episode().wait(30).episode_index == 0
    recorder.close()
    assert check_loadable(tmp_path / "ds")["total_episodes"] == 1


def test_rerecord_after_a_failed_save_keeps_the_episode_before(tmp_path):
    recorder = make(tmp_path / "ds")
    record_episode(recorder, 0, 8, "task", SMALL)
    assert recorder.save_episode().wait(30).error is None
    recorder.start_episode()
    for _ in range(5):  # a camera giving the wrong size: this save fails
        recorder.add_frame(np.zeros(6), np.zeros(6), {"front": np.zeros((4, 4, 3), np.uint8)}, "t")
    assert recorder.save_episode().wait(30).error
    recorder.remove_last_episode()
    recorder.close()
    assert check_loadable(tmp_path / "ds")["total_episodes"] == 1
