"""The OpenCV camera's device path: settings negotiated with the camera, then verified.

No USB camera can exist on this machine, so `cv2.VideoCapture` is replaced, for device indices
only, by `UsbCamera` below: it behaves as V4L2 does with a real webcam (a `set` the camera cannot
honour silently falls back to the nearest mode it has; `read` blocks until the next frame; a
pulled cable makes reads fail). Everything else is the real camera code.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from hardware.cameras import opencv
from hardware.cameras.opencv import OpenCVCamera, OpenCVCameraConfig
from hardware.errors import DeviceError

CV2 = opencv.cv2
MODES = [(640, 480), (320, 240)]
RATES = [30.0, 15.0]
FORMATS = ["YUYV", "MJPG"]


def fourcc_code(text: str) -> int:
    return CV2.VideoWriter_fourcc(*text)


class UsbCamera:
    """A webcam at index 0 with two sizes, two rates and two formats."""

    plugged = threading.Event()
    cable = 0  # counts unplugs: a handle opened before one stays dead, as with V4L2
    opened: list[UsbCamera] = []

    @classmethod
    def unplug(cls):
        cls.cable += 1
        cls.plugged.clear()

    def __init__(self, target, backend=0):
        self.is_open = target == 0 and self.plugged.is_set()
        self.cable = UsbCamera.cable
        self.size, self.fps, self.fourcc = MODES[0], RATES[0], FORMATS[0]
        self.frames = 0
        UsbCamera.opened.append(self)

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return self.is_open

    def set(self, prop, value):
        if prop == CV2.CAP_PROP_FRAME_WIDTH:
            self.size = min(MODES, key=lambda m: abs(m[0] - value))
        elif prop == CV2.CAP_PROP_FRAME_HEIGHT:
            self.size = min(MODES, key=lambda m: abs(m[1] - value))
        elif prop == CV2.CAP_PROP_FPS:
            self.fps = min(RATES, key=lambda r: abs(r - value))
        elif prop == CV2.CAP_PROP_FOURCC:
            wanted = [f for f in FORMATS if fourcc_code(f) == int(value)]
            self.fourcc = wanted[0] if wanted else self.fourcc
        return True

    def get(self, prop):
        return {
            CV2.CAP_PROP_FRAME_WIDTH: float(self.size[0]),
            CV2.CAP_PROP_FRAME_HEIGHT: float(self.size[1]),
            CV2.CAP_PROP_FPS: self.fps,
            CV2.CAP_PROP_FOURCC: float(fourcc_code(self.fourcc)),
        }.get(prop, 0.0)

    def read(self):
        if not (self.is_open and self.plugged.is_set() and self.cable == UsbCamera.cable):
            return False, None
        time.sleep(1 / self.fps)  # the camera delivers at its own rate
        self.frames += 1
        image = np.zeros((self.size[1], self.size[0], 3), np.uint8)
        image[..., 0] = 255  # blue, in OpenCV's BGR order
        return True, image

    def release(self):
        self.is_open = False

    def getBackendName(self):  # noqa: N802 - OpenCV's name
        return "V4L2"


@pytest.fixture(autouse=True)
def usb_camera(monkeypatch):
    real = CV2.VideoCapture
    monkeypatch.setattr(
        CV2, "VideoCapture", lambda t=None, b=0: UsbCamera(t, b) if isinstance(t, int) else real()
    )
    UsbCamera.plugged.set()
    UsbCamera.opened.clear()
    yield
    UsbCamera.plugged.set()


@pytest.fixture
def cameras():
    made = []

    def make(**fields):
        camera = OpenCVCamera(OpenCVCameraConfig(**{"index_or_path": 0, **fields}), "front")
        made.append(camera)
        return camera

    yield make
    for camera in made:
        camera.disconnect()


def test_a_supported_mode_is_set_verified_and_streamed(cameras):
    camera = cameras(width=320, height=240, fps=15, fourcc="MJPG", warmup_s=0.2)
    started = time.monotonic()
    camera.connect()
    assert time.monotonic() - started >= 0.2, "a device warms up for warmup_s"
    device = UsbCamera.opened[-1]
    assert (device.size, device.fps, device.fourcc) == ((320, 240), 15.0, "MJPG")
    frame = camera.read_latest()
    assert frame.image.shape == camera.shape == (240, 320, 3)
    assert tuple(frame.image[0, 0]) == (0, 0, 255)  # RGB out


def test_device_defaults_are_used_when_nothing_is_asked(cameras):
    camera = cameras(warmup_s=0)
    assert camera.shape == (480, 640, 3)  # asked of the device (opened and released) at once
    assert not UsbCamera.opened[-1].is_open
    camera.connect()
    assert camera.shape == (480, 640, 3) and camera.fps == 30.0


def test_a_size_the_camera_cannot_give_names_what_it_gives(cameras):
    camera = cameras(width=1280, height=720, warmup_s=0)
    with pytest.raises(
        DeviceError,
        match=r"^camera 'front' \(index 0\) gives 640x480, not 1280x720: set width/height to a "
        r"size it supports \(run `lerecord find-cameras`",
    ):
        camera.connect()
    assert not camera.is_connected and not UsbCamera.opened[-1].is_open  # released


def test_a_rate_the_camera_cannot_give_names_what_it_gives(cameras):
    with pytest.raises(DeviceError, match=r"gives 30 fps, not 60: set fps to a rate it supports"):
        cameras(fps=60, warmup_s=0).connect()


def test_a_format_the_camera_cannot_give_names_what_it_gives(cameras):
    with pytest.raises(DeviceError, match=r"gives format YUYV, not H264"):
        cameras(fourcc="H264", warmup_s=0).connect()


def test_rotation_swaps_the_shape_before_and_after_connecting(cameras):
    camera = cameras(width=640, height=480, rotation=90, warmup_s=0)
    assert camera.shape == (640, 480, 3)
    camera.connect()
    assert camera.read_latest().image.shape == (640, 480, 3)


def test_an_unplugged_camera_is_reported_and_reopened_when_back(cameras):
    camera = cameras(warmup_s=0)
    camera.REOPEN_INTERVAL_S = 0.05
    camera.connect()
    UsbCamera.unplug()
    deadline = time.monotonic() + 3
    while True:
        try:
            camera.read_latest()
        except DeviceError as error:
            assert str(error).startswith("camera 'front' (index 0) stopped giving frames")
            break
        assert time.monotonic() < deadline
        time.sleep(0.01)
    first = UsbCamera.opened[0]
    UsbCamera.plugged.set()
    after = time.monotonic()
    assert camera.wait_for_frame(3.0, newer_than=after) is not None
    assert camera.read_latest().captured_at > after
    assert not first.is_open  # the dead handle was released
    assert UsbCamera.opened[-1].is_open and UsbCamera.opened[-1].frames > 0  # and a new one read
