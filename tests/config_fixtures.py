"""Small real device configs standing in for the hardware helpers' classes in config tests.

They are registered by monkeypatching `hardware.registry.config_class` (the registry table itself
already names the real modules, which may not exist on this branch yet).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hardware import registry
from hardware.base import CameraConfig, RobotConfig, TeleoperatorConfig
from hardware.errors import ConfigError
from hardware.option import option


class ColorMode(str, enum.Enum):
    RGB = "rgb"
    BGR = "bgr"


@dataclass(kw_only=True)
class FakeOpenCVConfig(CameraConfig):
    type = "opencv"
    index_or_path: int | Path = 0
    color_mode: ColorMode = ColorMode.RGB
    warmup_s: float = 1.0

    def __post_init__(self) -> None:  # a plain ValueError, as a third-party config might raise
        if self.fps is not None and self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")


@dataclass(kw_only=True)
class FakeSimCameraConfig(CameraConfig):
    type = "sim"


@dataclass(kw_only=True)
class FakeSo100FollowerConfig(RobotConfig):
    type = "so100_follower"
    port: str = option(help="serial port", example="/dev/ttyACM0")
    disable_torque_on_disconnect: bool = True
    max_relative_target: float | dict[str, float] | None = None
    use_degrees: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.max_relative_target, float) and self.max_relative_target <= 0:
            raise ConfigError(
                f"--robot.max_relative_target: got {self.max_relative_target}; expected > 0"
            )


@dataclass(kw_only=True)
class FakeSo101FollowerConfig(FakeSo100FollowerConfig):
    type = "so101_follower"


@dataclass(kw_only=True)
class FakeLeKiwiClientConfig(RobotConfig):
    type = "lekiwi_client"
    remote_ip: str = "172.18.134.136"


@dataclass(kw_only=True)
class FakeSo100LeaderConfig(TeleoperatorConfig):
    type = "so100_leader"
    port: str


@dataclass(kw_only=True)
class FakeSo101LeaderConfig(FakeSo100LeaderConfig):
    type = "so101_leader"


@dataclass(kw_only=True)
class FakeKeyboardConfig(TeleoperatorConfig):
    type = "keyboard"
    keys: dict[str, str] = field(default_factory=dict)


FAKES = {
    (kind, c.type): c
    for kind, c in [
        ("camera", FakeOpenCVConfig),
        ("camera", FakeSimCameraConfig),
        ("robot", FakeSo100FollowerConfig),
        ("robot", FakeSo101FollowerConfig),
        ("robot", FakeLeKiwiClientConfig),
        ("teleop", FakeSo100LeaderConfig),
        ("teleop", FakeSo101LeaderConfig),
        ("teleop", FakeKeyboardConfig),
    ]
}


@pytest.fixture
def fake_devices(monkeypatch):
    """Registry types answered by the small configs above."""

    def config_class(kind, type_):
        registry.entry(kind, type_)  # unknown types fail exactly as the real registry does
        try:
            return FAKES[(kind, type_)]
        except KeyError:
            raise ImportError(f"No module named {registry.entry(kind, type_).module!r}") from None

    monkeypatch.setattr(registry, "config_class", config_class)
    return FAKES
