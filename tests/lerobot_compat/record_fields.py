"""Print lerobot's `lerobot-record` settings as JSON: {flag: default} for RecordConfig and
DatasetRecordConfig (with its encoder tables) and the device configs lerecord supports.

Run in the lerobot 0.6.1 interop environment (tests/interop.py); a default lerobot computes
(a factory, a required field) prints as the string "<required>" or its value once built.
"""

import dataclasses
import enum
import json
import sys
from pathlib import Path

from lerobot.cameras.opencv.configuration_opencv import OpenCVCameraConfig
from lerobot.cameras.realsense.configuration_realsense import RealSenseCameraConfig
from lerobot.configs.dataset import DatasetRecordConfig
from lerobot.robots.lekiwi.config_lekiwi import LeKiwiClientConfig, LeKiwiConfig
from lerobot.robots.so_follower.config_so_follower import SO100FollowerConfig, SO101FollowerConfig
from lerobot.scripts.lerobot_record import RecordConfig
from lerobot.teleoperators.gamepad.configuration_gamepad import GamepadTeleopConfig
from lerobot.teleoperators.keyboard.configuration_keyboard import KeyboardTeleopConfig
from lerobot.teleoperators.so_leader.config_so_leader import SO100LeaderConfig, SO101LeaderConfig

REQUIRED = "<required>"
DEVICES = {
    "robot[so100_follower]": SO100FollowerConfig,
    "robot[so101_follower]": SO101FollowerConfig,
    "robot[lekiwi_client]": LeKiwiClientConfig,
    "robot[lekiwi]": LeKiwiConfig,
    "teleop[so100_leader]": SO100LeaderConfig,
    "teleop[so101_leader]": SO101LeaderConfig,
    "teleop[keyboard]": KeyboardTeleopConfig,
    "teleop[gamepad]": GamepadTeleopConfig,
    "camera[opencv]": OpenCVCameraConfig,
    "camera[intelrealsense]": RealSenseCameraConfig,
}
TABLES = (DatasetRecordConfig,) + tuple(
    type(getattr(DatasetRecordConfig(), f.name))
    for f in dataclasses.fields(DatasetRecordConfig)
    if f.name.endswith("_encoder")
)


def plain(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def fields(cls, prefix):
    out = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        flag = f"{prefix}.{f.name}" if prefix else f.name
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            out[flag] = REQUIRED
            continue
        if isinstance(default, TABLES):
            out.update(fields(type(default), flag))
        else:
            out[flag] = plain(default)
    return out


found = {}
for f in dataclasses.fields(RecordConfig):
    if f.name == "dataset":
        found.update(fields(DatasetRecordConfig, "dataset"))
    elif f.name not in ("robot", "teleop"):
        found[f.name] = plain(f.default)
for prefix, cls in DEVICES.items():
    found.update(fields(cls, prefix))
json.dump(found, sys.stdout, indent=1, sort_keys=True)
