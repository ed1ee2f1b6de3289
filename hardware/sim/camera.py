"""The `sim` camera: pictures of the simulated arm in its current pose, at a steady frame rate.

A robot hands it a pose source with `follow_pose(robot.pose)`; the reader thread samples it once
per period (absolute deadlines) and draws a side and a top view of the arm, so recorded video
shows the motion. Without a pose source it draws the rest pose. `unplug()` makes it stop giving
frames, as a pulled USB cable would; `replug()` brings it back. With `use_depth` it also gives
a depth map of the same scene (`read_latest_depth()`, uint16 millimetres, as a RealSense's), so
a depth camera records with no camera: `--robot.cameras='{"top": {"type": "sim", "use_depth":
true}}'`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from hardware.base import CameraConfig, Frame
from hardware.cameras.streaming import Grab, StreamingCamera, check_size_and_fps
from hardware.errors import ConfigError, DeviceError
from hardware.option import option
from hardware.sim.arm_view import REST_POSE, VIEWS, ArmView

log = logging.getLogger(__name__)

Pose = Callable[[], dict[str, float]]
MIN_SIZE = (64, 48)


@dataclass(kw_only=True)
class SimCameraConfig(CameraConfig):
    type: ClassVar[str] = "sim"
    fps: int | None = option(30, help="frames per second drawn", unit="Hz")
    width: int | None = option(640, help="picture width", unit="px")
    height: int | None = option(480, help="picture height", unit="px")
    view: str = option(
        "side+top", help="what the picture shows of the arm", choices=("side", "top", "side+top")
    )
    use_depth: bool = option(
        False, help="give a depth map too, as <name>_depth (uint16 mm, like a RealSense)"
    )

    def __post_init__(self) -> None:
        for name, value in (("fps", self.fps), ("width", self.width), ("height", self.height)):
            if value is None:
                raise ConfigError(f"sim camera {name}: give a number (it has no device default)")
        check_size_and_fps(self)
        if self.width < MIN_SIZE[0] or self.height < MIN_SIZE[1]:
            raise ConfigError(
                f"sim camera width/height: {self.width}x{self.height} is too small to draw the "
                f"arm; use at least {MIN_SIZE[0]}x{MIN_SIZE[1]}"
            )
        if self.view not in VIEWS:
            raise ConfigError(f"sim camera view: {self.view!r} is not one of {', '.join(VIEWS)}")


class SimCamera(StreamingCamera):
    config: SimCameraConfig
    paced = True
    REOPEN_INTERVAL_S = 0.0  # nothing to reopen: a replugged sim camera draws again at once

    def __init__(self, config: SimCameraConfig, name: str | None = None):
        super().__init__(config, name)
        self._pose: Pose | None = None
        self._last_pose = dict(REST_POSE)
        self._pose_failed = False
        self._unplugged = False
        self._frames = 0
        self._started = 0.0
        self._depth: Frame | None = None  # the depth map drawn with the newest picture

    @property
    def source(self) -> str:
        return "sim"

    @property
    def depth_shape(self) -> tuple[int, int, int] | None:
        return (self.config.height, self.config.width, 1) if self.config.use_depth else None

    def read_latest_depth(self) -> Frame | None:
        self.read_latest()  # raises as the picture does when the camera is lost
        return self._depth

    @property
    def fps(self) -> float:
        return float(self.config.fps)

    def follow_pose(self, pose: Pose) -> None:
        self._pose = pose

    def unplug(self) -> None:
        """Stop giving frames, like a camera whose cable was pulled."""
        self._unplugged = True

    def replug(self) -> None:
        self._unplugged = False

    def _open(self) -> ArmView:
        if self._unplugged:
            raise DeviceError(f"{self.label} is unplugged: call replug() first")
        self._frames, self._started = 0, time.monotonic()
        return ArmView(self.config.width, self.config.height, self.config.view)

    def _grab(self, view: ArmView) -> Grab | None:
        if self._unplugged:
            return None
        captured_at = time.monotonic()
        self._frames += 1
        caption = f"{self.name or 'sim'}  #{self._frames:05d}  t={captured_at - self._started:.3f}s"
        pose = self._read_pose()
        if self.config.use_depth:
            self._depth = Frame(view.depth(pose), captured_at)
        return view.draw(pose, caption), captured_at

    def _read_pose(self) -> dict[str, float]:
        if self._pose is None:
            return self._last_pose
        try:
            self._last_pose = self._pose()
            self._pose_failed = False
        except Exception as error:  # keep drawing the last pose; say so once
            if not self._pose_failed:
                log.warning(
                    "%s: the pose source failed (%s); drawing the last pose", self.label, error
                )
            self._pose_failed = True
        return self._last_pose
