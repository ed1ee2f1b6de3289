"""One explicit table from a device `type` string to its config and class.

Modules are imported only when a type is used, so a vendor SDK that is not installed (RealSense,
a gamepad library) costs nothing until someone asks for that device.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Literal

from hardware.base import Camera, DeviceConfig, Robot, Teleoperator
from hardware.errors import ConfigError

Kind = Literal["robot", "teleop", "camera"]


@dataclass(frozen=True)
class DeviceEntry:
    kind: Kind
    type: str
    module: str
    config_name: str
    class_name: str


_ENTRIES = [
    DeviceEntry(
        "robot", "so100_follower", "hardware.so_arm.follower", "So100FollowerConfig", "SoFollower"
    ),
    DeviceEntry(
        "robot", "so101_follower", "hardware.so_arm.follower", "So101FollowerConfig", "SoFollower"
    ),
    DeviceEntry(
        "robot", "bi_so_follower", "hardware.so_arm.bimanual", "BiSoFollowerConfig", "BiSoFollower"
    ),
    DeviceEntry(
        "robot", "lekiwi_client", "hardware.lekiwi.client", "LeKiwiClientConfig", "LeKiwiClient"
    ),
    DeviceEntry("robot", "lekiwi", "hardware.lekiwi.host", "LeKiwiConfig", "LeKiwi"),
    DeviceEntry(
        "teleop", "so100_leader", "hardware.so_arm.leader", "So100LeaderConfig", "SoLeader"
    ),
    DeviceEntry(
        "teleop", "so101_leader", "hardware.so_arm.leader", "So101LeaderConfig", "SoLeader"
    ),
    DeviceEntry(
        "teleop", "bi_so_leader", "hardware.so_arm.bimanual", "BiSoLeaderConfig", "BiSoLeader"
    ),
    DeviceEntry(
        "teleop", "keyboard", "hardware.teleop.keyboard", "KeyboardTeleopConfig", "KeyboardTeleop"
    ),
    DeviceEntry(
        "teleop", "gamepad", "hardware.teleop.gamepad", "GamepadTeleopConfig", "GamepadTeleop"
    ),
    DeviceEntry(
        "camera", "opencv", "hardware.cameras.opencv", "OpenCVCameraConfig", "OpenCVCamera"
    ),
    DeviceEntry("camera", "sim", "hardware.sim.camera", "SimCameraConfig", "SimCamera"),
    DeviceEntry(
        "camera",
        "intelrealsense",
        "hardware.cameras.realsense",
        "RealSenseCameraConfig",
        "RealSenseCamera",
    ),
    DeviceEntry(  # lerecord's first name for it
        "camera",
        "realsense",
        "hardware.cameras.realsense",
        "RealSenseCameraConfig",
        "RealSenseCamera",
    ),
]
_TABLE: dict[tuple[str, str], DeviceEntry] = {(e.kind, e.type): e for e in _ENTRIES}
_FLAG = {"robot": "--robot.type", "teleop": "--teleop.type", "camera": "camera type"}


def known_types(kind: Kind) -> list[str]:
    return [e.type for e in _ENTRIES if e.kind == kind]


def entry(kind: Kind, type_: str) -> DeviceEntry:
    try:
        return _TABLE[(kind, type_)]
    except KeyError:
        raise ConfigError(
            f"{_FLAG[kind]}: unknown type {type_!r}; known types: {', '.join(known_types(kind))}"
        ) from None


def config_class(kind: Kind, type_: str) -> type[Any]:
    """The config dataclass for a type string (a `DeviceConfig` subclass, fields its own)."""
    e = entry(kind, type_)
    return getattr(importlib.import_module(e.module), e.config_name)


def _device_class(kind: Kind, type_: str) -> type:
    e = entry(kind, type_)
    return getattr(importlib.import_module(e.module), e.class_name)


def make_robot(config: DeviceConfig) -> Robot:
    return _device_class("robot", config.type)(config)


def make_teleoperator(config: DeviceConfig) -> Teleoperator:
    return _device_class("teleop", config.type)(config)


def make_camera(config: DeviceConfig, name: str | None = None) -> Camera:
    """`name` is the robot's key for the camera ("front"); error messages use it."""
    return _device_class("camera", config.type)(config, name)
