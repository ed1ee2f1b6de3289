"""USB cameras (and video files, for testing) through OpenCV, configured as lerobot's `opencv`.

`index_or_path` is a camera index (`0`), a device path (`/dev/video4`) or a video file, which
plays in a loop at its own frame rate. Width, height and fps are set, then read back: a camera
that gives something else is an error naming what it does give. `width`/`height` are the size
the device captures; with `rotation` ±90 the frames come out turned, `shape` says how.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np

from hardware.base import CameraConfig
from hardware.cameras.streaming import Grab, StreamingCamera, check_size_and_fps
from hardware.errors import ConfigError, DeviceError
from hardware.option import option

log = logging.getLogger(__name__)

ROTATIONS = {
    0: None,
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    -90: cv2.ROTATE_90_COUNTERCLOCKWISE,
}
COLOR_MODES = ("rgb", "bgr")
DEFAULT_FPS = 30.0  # when a device does not report its rate
FIND_CAMERAS = "run `lerecord find-cameras` to list the cameras"


@dataclass(kw_only=True)
class OpenCVCameraConfig(CameraConfig):
    type: ClassVar[str] = "opencv"
    index_or_path: int | str | Path = option(
        help="camera index (0, 1, …), /dev/video path or video file", example="0"
    )
    color_mode: str = option("rgb", help="channel order of the pictures", choices=COLOR_MODES)
    rotation: int = option(
        0, help="rotation clockwise", choices=("0", "90", "180", "-90"), unit="degrees"
    )
    warmup_s: float = option(1.0, help="time for the exposure to settle at connect", unit="s")
    fourcc: str | None = option(None, help="pixel format asked of the device, e.g. MJPG")
    backend: int = option(0, help="OpenCV backend: 0 any, 200 V4L2, 1200 AVFoundation, 1400 MSMF")

    def __post_init__(self) -> None:
        if isinstance(self.index_or_path, str) and self.index_or_path.isdigit():
            self.index_or_path = int(self.index_or_path)
        if isinstance(self.index_or_path, bool) or not (
            (isinstance(self.index_or_path, int) and self.index_or_path >= 0)
            or (isinstance(self.index_or_path, (str, Path)) and str(self.index_or_path))
        ):
            raise ConfigError(
                f"camera index_or_path: {self.index_or_path!r} is neither a camera index (0, 1, …) "
                f"nor a device or video path; {FIND_CAMERAS}"
            )
        check_size_and_fps(self)
        if self.color_mode not in COLOR_MODES:
            raise ConfigError(f"camera color_mode: {self.color_mode!r} is not 'rgb' or 'bgr'")
        if self.rotation not in ROTATIONS:
            raise ConfigError(f"camera rotation: {self.rotation!r} is not one of 0, 90, 180, -90")
        if not isinstance(self.warmup_s, (int, float)) or self.warmup_s < 0:
            raise ConfigError(f"camera warmup_s: {self.warmup_s!r} is not a number of seconds ≥ 0")
        if self.fourcc is not None and (not isinstance(self.fourcc, str) or len(self.fourcc) != 4):
            raise ConfigError(f"camera fourcc: {self.fourcc!r} is not four characters like 'MJPG'")
        if isinstance(self.backend, bool) or not isinstance(self.backend, int) or self.backend < 0:
            raise ConfigError(
                f"camera backend: {self.backend!r} is not an OpenCV backend number "
                "(0 any, 200 V4L2, 1200 AVFoundation, 1400 MSMF)"
            )


def quiet_opencv() -> None:
    """Keep OpenCV's and FFmpeg's own messages off the terminal; we report failures ourselves."""
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


class OpenCVCamera(StreamingCamera):
    config: OpenCVCameraConfig

    def __init__(self, config: OpenCVCameraConfig, name: str | None = None):
        super().__init__(config, name)
        target = config.index_or_path
        self._is_file = not isinstance(target, int) and Path(target).is_file()
        self.paced = self._is_file  # a file is read as fast as asked: play it at its own rate
        self._size: tuple[int, int] | None = None  # (width, height) the device captures
        self._fps: float | None = None

    @property
    def source(self) -> str:
        target = self.config.index_or_path
        return f"index {target}" if isinstance(target, int) else str(target)

    @property
    def fps(self) -> float:
        return self._fps or self.config.fps or DEFAULT_FPS

    @property
    def shape(self) -> tuple[int, int, int]:
        """(height, width, 3) of the frames; with no width/height given, the size the device
        (or video) reports, asked once by opening and releasing it (DeviceError if it cannot)."""
        if self._size is None and self.config.width is None:
            self._close(self._open())  # _open records the size the device gives
        width, height = self._size or (self.config.width, self.config.height)
        if self.config.rotation in (90, -90):
            width, height = height, width
        return (height, width, 3)

    def connect(self) -> None:
        """Open, verify the settings, start the reader; a device then warms up for `warmup_s`."""
        started = time.monotonic()
        super().connect()
        if not self._is_file:  # a file has no exposure to settle
            time.sleep(max(0.0, started + self.config.warmup_s - time.monotonic()))

    # ---- the device ----------------------------------------------------------------------------

    def _open(self) -> cv2.VideoCapture:
        cv2.setNumThreads(1)
        quiet_opencv()
        target = self.config.index_or_path
        if not isinstance(target, int) and not Path(target).exists():
            raise DeviceError(f"{self.label}: no such device or file; {FIND_CAMERAS}")
        cap = cv2.VideoCapture(
            target if isinstance(target, int) else str(target), self.config.backend
        )
        if not cap.isOpened():
            cap.release()
            if self._is_file:
                raise DeviceError(
                    f"{self.label} did not open: not a video OpenCV can decode (use h264; AV1 "
                    "is not supported)"
                )
            raise DeviceError(f"{self.label} did not open: is it plugged in? {FIND_CAMERAS}")
        try:
            if self._is_file:
                self._check_file(cap)
            else:
                self._configure_device(cap)
        except DeviceError:
            cap.release()
            raise
        return cap

    def _check_file(self, cap: cv2.VideoCapture) -> None:
        size = _size_of(cap)
        fps = cap.get(cv2.CAP_PROP_FPS) or DEFAULT_FPS
        want = (self.config.width, self.config.height)
        if self.config.width is not None and size != want:
            raise DeviceError(
                f"{self.label} gives {size[0]}x{size[1]}, not {want[0]}x{want[1]}: set "
                "width/height to the video's size or leave them unset"
            )
        if self.config.fps is not None and not math.isclose(fps, self.config.fps, abs_tol=0.5):
            raise DeviceError(
                f"{self.label} gives {fps:g} fps, not {self.config.fps:g}: set fps to {fps:g} "
                "or leave it unset"
            )
        self._size, self._fps = size, fps

    def _configure_device(self, cap: cv2.VideoCapture) -> None:
        config = self.config
        if config.fourcc is not None:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*config.fourcc))
            got = _fourcc_of(cap)
            if got != config.fourcc:
                raise DeviceError(
                    f"{self.label} gives format {got or 'unknown'}, not {config.fourcc}: set "
                    "fourcc to one it supports or leave it unset"
                )
        if config.width is not None:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, config.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, config.height)
            size = _size_of(cap)
            if size != (config.width, config.height):
                raise DeviceError(
                    f"{self.label} gives {size[0]}x{size[1]}, not {config.width}x{config.height}: "
                    f"set width/height to a size it supports ({FIND_CAMERAS} at their default)"
                )
        if config.fps is not None:
            cap.set(cv2.CAP_PROP_FPS, config.fps)
            fps = cap.get(cv2.CAP_PROP_FPS)
            if fps <= 0:  # some backends cannot tell: nothing to verify
                log.info(
                    "%s does not report its frame rate; assuming %g fps", self.label, config.fps
                )
            elif not math.isclose(fps, config.fps, abs_tol=0.5):
                raise DeviceError(
                    f"{self.label} gives {fps:g} fps, not {config.fps:g}: set fps to a rate it "
                    "supports or leave it unset"
                )
        self._size = _size_of(cap)
        self._fps = cap.get(cv2.CAP_PROP_FPS) or config.fps or DEFAULT_FPS

    def _grab(self, cap: cv2.VideoCapture) -> Grab | None:
        ok, image = cap.read()
        if not ok and self._is_file:  # the end of the video: play it again
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = cap.read()
        if not ok:
            return None
        captured_at = time.monotonic()
        if image.shape[1::-1] != self._size:
            log.debug("%s: frame of %s instead of %s", self.label, image.shape, self._size)
            return None
        return self._convert(image), captured_at

    def _convert(self, image: np.ndarray) -> np.ndarray:
        if self.config.color_mode == "rgb":
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        code = ROTATIONS[self.config.rotation]
        return image if code is None else cv2.rotate(image, code)

    def _close(self, cap: cv2.VideoCapture) -> None:
        cap.release()

    def _reopen(self, cap: cv2.VideoCapture) -> cv2.VideoCapture:
        cap.release()
        try:
            return self._open()
        except DeviceError as error:
            log.debug("%s: %s", self.label, error)
            return cv2.VideoCapture()  # not opened: reads fail until the next attempt


def _size_of(cap: cv2.VideoCapture) -> tuple[int, int]:
    return (round(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), round(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))


def _fourcc_of(cap: cv2.VideoCapture) -> str:
    code = int(cap.get(cv2.CAP_PROP_FOURCC))
    return "".join(chr((code >> 8 * i) & 0xFF) for i in range(4)).strip("\x00")
