"""The OpenCV camera, for real, on h264 video files written in the test (no camera here)."""

from __future__ import annotations

import statistics
import threading
import time

import numpy as np
import pytest
from camera_clips import BLUE, RED, close, index_of, write_clip

from hardware.cameras.opencv import OpenCVCamera, OpenCVCameraConfig
from hardware.errors import ConfigError, DeviceError
from hardware.registry import make_camera


@pytest.fixture
def clip(tmp_path):
    return write_clip(tmp_path / "clip.mp4")


@pytest.fixture
def connected():
    cameras = []

    def connect(path, name="front", **fields):
        camera = make_camera(OpenCVCameraConfig(index_or_path=path, **fields), name)
        cameras.append(camera)
        camera.connect()
        return camera

    yield connect
    for camera in cameras:
        camera.disconnect()


def wait_until(condition, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def frames_for(camera, seconds):
    frames, last = [], None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        frame = camera.wait_for_frame(1.0, newer_than=last)
        assert frame is not None
        frames.append(frame)
        last = frame.captured_at
    return frames


def test_a_video_file_gives_rgb_frames_of_its_size(clip, connected):
    camera = connected(clip)
    assert isinstance(camera, OpenCVCamera) and camera.is_connected
    frame = camera.read_latest()
    assert frame.image.shape == camera.shape == (48, 64, 3)
    assert frame.image.dtype == np.uint8
    assert close(frame.image[5, 5], RED) and close(frame.image[5, 60], BLUE)
    assert frame.age_s() < 1.0


def test_bgr_color_mode_keeps_opencv_order(clip, connected):
    image = connected(clip, color_mode="bgr").read_latest().image
    assert close(image[5, 5], BLUE) and close(image[5, 60], RED)


@pytest.mark.parametrize(
    "rotation, red_corner",
    [(0, (0, 0)), (90, (0, -1)), (180, (-1, -1)), (-90, (-1, 0))],
)
def test_rotation_turns_the_picture_clockwise(clip, connected, rotation, red_corner):
    camera = connected(clip, rotation=rotation)
    image = camera.read_latest().image
    upright = rotation in (0, 180)
    assert image.shape == camera.shape == ((48, 64, 3) if upright else (64, 48, 3))
    row, col = red_corner
    height, width = image.shape[:2]
    # the red quadrant is in the expected corner (sampled a few pixels in from it)
    assert close(image[4 if row == 0 else height - 5, 4 if col == 0 else width - 5], RED)
    assert close(image[height - 5 if row == 0 else 4, width - 5 if col == 0 else 4], BLUE)


def test_a_video_file_loops_at_its_own_rate(tmp_path, connected):
    camera = connected(write_clip(tmp_path / "short.mp4", frames=6, fps=20))
    frames = frames_for(camera, 0.9)
    indices = [index_of(frame.image) for frame in frames]
    assert len(frames) > 6, "the clip must have played past its end"
    assert set(indices) == set(range(6))
    wraps = [i for i in range(1, len(indices)) if indices[i] < indices[i - 1]]
    assert wraps and all(indices[i] == 0 for i in wraps)
    times = [frame.captured_at for frame in frames]
    assert np.all(np.diff(times) > 0)
    assert 0.6 / 20 < statistics.median(np.diff(times)) < 1.5 / 20


def test_a_size_the_camera_does_not_give_is_refused(clip):
    camera = OpenCVCamera(OpenCVCameraConfig(index_or_path=clip, width=640, height=480), "front")
    with pytest.raises(
        DeviceError, match=r"camera 'front' \(.*clip.mp4\) gives 64x48, not 640x480"
    ):
        camera.connect()
    assert not camera.is_connected


def test_a_rate_the_camera_does_not_give_is_refused(clip):
    camera = OpenCVCamera(OpenCVCameraConfig(index_or_path=clip, fps=60), "front")
    with pytest.raises(DeviceError, match=r"gives 30 fps, not 60: set fps to 30"):
        camera.connect()


def test_matching_settings_are_accepted(clip, connected):
    assert connected(clip, width=64, height=48, fps=30).shape == (48, 64, 3)


def test_a_missing_camera_is_named_with_the_fix(tmp_path):
    with pytest.raises(DeviceError, match=r"camera 'wrist' \(index 99\).*lerecord find-cameras"):
        OpenCVCamera(OpenCVCameraConfig(index_or_path=99), "wrist").connect()
    missing = tmp_path / "video7"
    with pytest.raises(DeviceError, match=r"video7\): no such device.*lerecord find-cameras"):
        OpenCVCamera(OpenCVCameraConfig(index_or_path=missing), "wrist").connect()


def test_a_file_that_is_not_a_video_is_refused(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    with pytest.raises(DeviceError, match="not a video OpenCV can decode"):
        OpenCVCamera(OpenCVCameraConfig(index_or_path=junk)).connect()


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"rotation": 45}, "rotation"),
        ({"width": 640}, "width/height"),
        ({"width": 640, "height": -1}, "height"),
        ({"fps": 0}, "fps"),
        ({"color_mode": "hsv"}, "color_mode"),
        ({"fourcc": "MJ"}, "fourcc"),
        ({"warmup_s": -1}, "warmup_s"),
        ({"index_or_path": -1}, "index_or_path"),
        ({"index_or_path": ""}, "index_or_path"),
    ],
)
def test_bad_config_values_name_the_field(fields, field):
    with pytest.raises(ConfigError, match=f"camera {field}:"):
        OpenCVCameraConfig(**{"index_or_path": 0, **fields})


def test_an_index_given_as_text_is_an_index():
    assert OpenCVCameraConfig(index_or_path="2").index_or_path == 2


def test_read_latest_does_not_wait_for_a_read_in_progress(clip, connected):
    camera = connected(clip)
    before = camera.read_latest()
    reading, release = threading.Event(), threading.Event()
    real_grab = camera._grab

    def slow_grab(cap):  # the device takes its time to deliver the next frame
        reading.set()
        release.wait(5.0)
        return real_grab(cap)

    camera._grab = slow_grab
    assert reading.wait(2.0)
    frame = camera.read_latest()  # the reader is inside the device read right now
    assert not release.is_set() and frame is not None
    assert frame.captured_at >= before.captured_at
    assert camera.wait_for_frame(0.05, newer_than=frame.captured_at) is None
    release.set()
    assert camera.wait_for_frame(2.0, newer_than=frame.captured_at) is not None


def test_read_latest_gives_none_before_the_first_frame(clip):
    camera = OpenCVCamera(OpenCVCameraConfig(index_or_path=clip))
    reading, release = threading.Event(), threading.Event()
    real_grab = camera._grab

    def first_read_is_slow(cap):
        reading.set()
        release.wait(5.0)
        return real_grab(cap)

    camera._grab = first_read_is_slow
    connecting = threading.Thread(target=camera.connect)
    connecting.start()
    assert reading.wait(2.0)
    assert camera.read_latest() is None
    release.set()
    connecting.join(5.0)
    assert camera.read_latest() is not None
    camera.disconnect()


def test_a_camera_that_stops_giving_frames_is_reported_then_recovers(clip, connected):
    camera = connected(clip)
    camera.REOPEN_INTERVAL_S = 0.05
    real_grab = camera._grab
    camera._grab = lambda cap: None  # every read fails, as when the cable is pulled
    wait_until(lambda: _raises(camera.read_latest))
    with pytest.raises(DeviceError, match=r"camera 'front' \(.*clip.mp4\) stopped giving frames"):
        camera.read_latest()
    camera._grab = real_grab  # plugged back: the reader reopens the file and goes on
    wait_until(lambda: not _raises(camera.read_latest))
    assert camera.read_latest().age_s() < 1.0


def test_a_camera_that_hangs_is_reported_by_the_age_of_its_frame(clip, connected, monkeypatch):
    monkeypatch.setattr(OpenCVCamera, "stale_after_s", property(lambda self: 0.2))
    camera = connected(clip)
    release = threading.Event()
    real_grab = camera._grab

    def hung(cap):
        release.wait(5.0)
        return real_grab(cap)

    camera._grab = hung
    wait_until(lambda: _raises(camera.read_latest))
    with pytest.raises(DeviceError, match=r"stopped giving frames \(the newest is .* s old\)"):
        camera.read_latest()
    release.set()


def test_disconnect_releases_the_camera_and_it_can_connect_again(clip, connected):
    camera = connected(clip)
    camera.disconnect()
    camera.disconnect()
    assert not camera.is_connected
    with pytest.raises(DeviceError, match="not connected"):
        camera.read_latest()
    camera.connect()
    assert camera.read_latest() is not None


def _raises(read) -> bool:
    try:
        read()
    except DeviceError:
        return True
    return False
