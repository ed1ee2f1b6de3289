"""The device interfaces: robots, teleoperators and cameras.

Each device has a config dataclass whose class attribute `type` is the string users write
(`--robot.type=so101_follower`), and describes its features before it connects, so a session can
check a dataset or a policy against it without touching the hardware.

Feature descriptions follow lerobot: `float` for a scalar, `(height, width, 3)` for an RGB image.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from hardware.errors import DeviceError
from hardware.option import option

Features = dict[str, Any]  # name -> float | (h, w, c)


@dataclass(kw_only=True)
class DeviceConfig:
    type: ClassVar[str] = ""


@dataclass(kw_only=True)
class CameraConfig(DeviceConfig):
    fps: int | None = option(None, help="frames per second asked of the camera", unit="Hz")
    width: int | None = option(None, help="picture width", unit="px")
    height: int | None = option(None, help="picture height", unit="px")


@dataclass(kw_only=True)
class RobotConfig(DeviceConfig):
    id: str | None = option(None, help="the robot's name; selects its calibration file")
    calibration_dir: Path | None = option(
        None, help="folder of its calibration files (none: lerobot's, by robot type)"
    )
    cameras: dict[str, CameraConfig] = option(
        default_factory=dict,
        help="cameras by name, '{front: {type: opencv, index_or_path: 0, …}}'; "
        "use_depth: true on an intelrealsense or sim camera records <name>_depth too",
    )


@dataclass(kw_only=True)
class TeleoperatorConfig(DeviceConfig):
    id: str | None = option(None, help="the teleoperator's name; selects its calibration file")
    calibration_dir: Path | None = option(
        None, help="folder of its calibration files (none: lerobot's, by teleoperator type)"
    )


@dataclass(frozen=True)
class Frame:
    """One camera image (HxWx3 uint8 RGB) and when it was captured (time.monotonic seconds)."""

    image: np.ndarray
    captured_at: float

    def age_s(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.captured_at


class Camera(abc.ABC):
    config: CameraConfig

    def __init__(self, config: CameraConfig, name: str | None = None):
        self.config = config
        self.name = name  # the robot's key for it ("front"), used in messages

    @property
    @abc.abstractmethod
    def is_connected(self) -> bool: ...

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the device, verify width/height/fps, start the reader thread."""

    @abc.abstractmethod
    def read_latest(self) -> Frame | None:
        """The newest frame, without blocking; None before the first one arrives.

        Raises DeviceError once the camera has stopped giving frames (failed reads, or a newest
        frame older than about 10 periods), so a caller never records a frozen picture unknowingly.
        """

    @abc.abstractmethod
    def disconnect(self) -> None: ...

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.config.height, self.config.width, 3)

    @property
    def depth_shape(self) -> tuple[int, int, int] | None:
        """(H, W, 1) for a camera that gives a depth map too (`use_depth`), else None."""
        return None

    def read_latest_depth(self) -> Frame | None:
        """The newest depth map (H, W, 1) uint16 millimetres; only where `depth_shape` is set."""
        raise DeviceError(f"camera {self.name}: it gives no depth map (use_depth is off)")

    def follow_pose(self, pose: Callable[[], dict[str, float]]) -> None:
        """Give a camera that renders the robot (the sim camera) a source of joint positions.

        `pose()` returns the robot's latest `<motor>.pos` values. Real cameras ignore it.
        """


def camera_features(cameras: dict[str, Camera]) -> Features:
    """Each camera's picture shape, and `<name>_depth`'s after it for one giving a depth map
    (lerobot's keys and order)."""
    features: Features = {}
    for name, camera in cameras.items():
        features[name] = camera.shape
        if camera.depth_shape is not None:
            features[f"{name}_depth"] = camera.depth_shape
    return features


class Device(abc.ABC):
    """What robots and teleoperators share: connecting (with or without loading the calibration
    file) and leaving the hardware safe."""

    @property
    @abc.abstractmethod
    def is_connected(self) -> bool: ...

    @abc.abstractmethod
    def connect(self, calibrate: bool = True) -> None: ...

    @abc.abstractmethod
    def disconnect(self) -> None: ...

    def check_files(self) -> None:
        """Read and check what connect() will read from disk (calibration files) without
        opening anything; ConfigError for a bad one. Devices with no such files: nothing."""


class Robot(Device):
    """A robot: `get_observation()` returns `<motor>.pos` plus diagnostics and camera images."""

    config: RobotConfig
    name: ClassVar[str] = ""  # robot_type written to datasets (lerobot's, e.g. "so_follower")
    # Set by disconnect() when torque may still be on (servos that did not confirm, or torque
    # left on by configuration): one line for the user, naming the servos and what to do.
    torque_left_on: str | None = None

    def __init__(self, config: RobotConfig):
        self.config = config

    @property
    @abc.abstractmethod
    def observation_features(self) -> Features:
        """What goes to datasets and policies: `<motor>.pos` floats and `<cam>` (h, w, 3)."""

    @property
    @abc.abstractmethod
    def action_features(self) -> Features: ...

    @property
    def diagnostic_features(self) -> Features:
        """Extra observation keys for the console and logs, never for datasets
        (`<motor>.load`, `.temperature` °C, `.voltage` V, `.current` mA)."""
        return {}

    @abc.abstractmethod
    def get_observation(self) -> dict[str, Any]: ...

    @abc.abstractmethod
    def send_action(self, action: dict[str, float]) -> dict[str, float]:
        """Send goals; return what was actually sent (after safety clamping)."""

    @abc.abstractmethod
    def disconnect(self) -> None:
        """Leave the motors safe (torque off when configured) and release the port."""

    def hold(self) -> None:
        """Stop moving at once and keep the current pose (used by pause)."""

    def emergency_stop(self) -> None:
        """Cut motor torque now, whatever the configuration."""


class Teleoperator(Device):
    config: TeleoperatorConfig
    name: ClassVar[str] = ""

    def __init__(self, config: TeleoperatorConfig):
        self.config = config

    @property
    @abc.abstractmethod
    def action_features(self) -> Features: ...

    @abc.abstractmethod
    def get_action(self) -> dict[str, float]: ...

    def bind(self, robot_action_features: Features) -> None:
        """Learn the robot's action features before connecting.

        Teleoperators whose features depend on the robot (the keyboard jogs whatever joints the
        arm has, or drives a mobile base) choose them here. Leader arms ignore it.
        """

    def feedback(self, observation: dict[str, Any]) -> None:
        """The robot's latest observation, given before each `get_action()`.

        Teleoperators that jog from the present pose (keyboard, gamepad) start from it.
        """


# ---- optional capabilities: a device has them or not; callers check with isinstance ----------


@runtime_checkable
class HasCameras(Protocol):
    """A robot that owns cameras (their frames come with its observation)."""

    cameras: dict[str, Camera]


@runtime_checkable
class ExplainsControls(Protocol):
    """A teleoperator that can list its controls for the console (keys, pad axes, buttons)."""

    def mapping_help(self) -> list[tuple[str, str]]:
        """(control, what it does), in mapping order."""
        ...


@runtime_checkable
class TakesKeys(ExplainsControls, Protocol):
    """A teleoperator driven by the terminal's keys (the keyboard, or a composite holding one)."""

    def claims(self, key: str) -> bool:
        """Whether this key is in the mapping (the session keeps the others)."""
        ...

    def press(self, key: str) -> bool:
        """A key went down (or repeated); whether it is mapped."""
        ...

    def release(self, key: str) -> None: ...


@runtime_checkable
class ReportsRecoveries(Protocol):
    """A robot whose bus retries failed exchanges: it says which a retry recovered, so a servo
    silent for a moment is named at once rather than absorbed unseen."""

    def take_recoveries(self) -> list[str]:
        """Each recovered failure since the last call, in words naming the servo."""
        ...


@runtime_checkable
class KnowsJointRanges(Protocol):
    """A robot whose calibration bounds each joint: the console draws positions against it."""

    def joint_ranges(self) -> dict[str, tuple[float, float]]:
        """Each motor's calibrated range_min..range_max in its observation's units (degrees,
        -100..100 or 0..100), low first; keyed as `<motor>` of `<motor>.pos`."""
        ...


@runtime_checkable
class Calibratable(Protocol):
    """A device `lerecord calibrate` can calibrate: it gives the steps to walk through."""

    def calibration_steps(self) -> Any: ...
