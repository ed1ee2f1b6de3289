"""Finding cameras: which ones open, at what size and rate by default, and a picture from one.

`find_cameras("opencv")` looks at every `/dev/video*` on Linux and at indices 0–59 elsewhere, as
lerobot does; `find_cameras("sim")` lists the simulated camera. `probe(path)` asks about one
device or video file. `grab_frame(info)` opens a camera just long enough for one picture, for
the `find-cameras` command and the wizard's preview.
"""

from __future__ import annotations

import glob
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2

from hardware.base import CameraConfig, Frame
from hardware.cameras.opencv import OpenCVCameraConfig, quiet_opencv
from hardware.errors import DeviceError
from hardware.registry import make_camera
from hardware.sim.camera import SimCameraConfig

DEVICE_GLOB = "/dev/video*"  # where Linux keeps its cameras
MAX_INDEX = 60  # indices tried elsewhere


@dataclass(frozen=True)
class CameraInfo:
    """A camera that opened, with the size and rate it gives by default."""

    type: str  # "opencv" | "sim"
    index_or_path: int | str
    width: int
    height: int
    fps: float
    backend: str = ""  # OpenCV's capture backend (V4L2, AVFOUNDATION, FFMPEG for files …)

    @property
    def label(self) -> str:
        target = self.index_or_path
        return f"index {target}" if isinstance(target, int) else str(target)

    @property
    def file_stem(self) -> str:
        """A file name for its picture: `opencv__dev_video0`."""
        if self.type == "sim":
            return "sim"
        return re.sub(r"[^\w.-]", "_", f"{self.type}_{self.index_or_path}")

    def config(self, warmup_s: float = 1.0) -> CameraConfig:
        """A config that opens this camera at the size and rate it gives by default."""
        fps = round(self.fps) if self.fps > 0 else None
        if self.type == "sim":
            return SimCameraConfig(width=self.width, height=self.height, fps=fps or 30)
        return OpenCVCameraConfig(
            index_or_path=self.index_or_path,
            width=self.width,
            height=self.height,
            fps=fps,
            warmup_s=warmup_s,
        )


def find_cameras(kind: str = "opencv") -> list[CameraInfo]:
    """The cameras of one kind ("opencv" or "sim") that open on this machine."""
    if kind == "sim":
        config = SimCameraConfig()
        return [CameraInfo("sim", "sim", config.width, config.height, float(config.fps))]
    if sys.platform.startswith("linux"):
        targets: list[int | str] = sorted(glob.glob(DEVICE_GLOB), key=_natural)
    else:
        targets = list(range(MAX_INDEX))
    return [info for target in targets if (info := probe(target)) is not None]


def probe(index_or_path: int | str | Path) -> CameraInfo | None:
    """Open one camera or video file with OpenCV and read its default settings; None if not."""
    quiet_opencv()
    target = index_or_path if isinstance(index_or_path, int) else str(index_or_path)
    cap = cv2.VideoCapture(target)
    try:
        if not cap.isOpened():
            return None
        return CameraInfo(
            "opencv",
            target,
            round(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            round(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            cap.get(cv2.CAP_PROP_FPS),
            cap.getBackendName(),
        )
    finally:
        cap.release()


def grab_frame(info: CameraInfo, warmup_s: float = 1.0) -> Frame:
    """Open the camera, let it settle for `warmup_s`, take one picture and close it."""
    camera = make_camera(info.config(warmup_s))
    camera.connect()
    try:
        frame = camera.read_latest()
    finally:
        camera.disconnect()
    if frame is None:  # connect() waits for a first frame, so this means it vanished at once
        raise DeviceError(f"camera {info.label} gave no picture")
    return frame


def _natural(path: int | str) -> tuple[str, int]:
    match = re.match(r"(.*?)(\d+)$", str(path))
    return (match.group(1), int(match.group(2))) if match else (str(path), -1)
