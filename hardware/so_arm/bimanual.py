"""Two SO-100/101 arms as one device: lerobot's `bi_so_follower` and `bi_so_leader` (0.6.1).

Each side is a plain SO follower (or leader) built from `left_arm_config` / `right_arm_config`;
its calibration id is `<id>_left` / `<id>_right` in lerobot's folders (`robots/so_follower/`,
`teleoperators/so_leader/`). Feature names get a `left_` / `right_` prefix
(`left_shoulder_pan.pos`, `right_wrist`); cameras given at the top level (`--robot.cameras`) keep
their names and are attached to the left arm, as lerobot does. A `sim` port emulates that arm.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from typing import Any, ClassVar

from hardware.base import (
    Device,
    Features,
    Robot,
    RobotConfig,
    Teleoperator,
    TeleoperatorConfig,
    camera_features,
)
from hardware.errors import ConfigError, DeviceError
from hardware.option import option
from hardware.so_arm.follower import So100FollowerConfig, SoFollower
from hardware.so_arm.leader import So100LeaderConfig, SoLeader

log = logging.getLogger(__name__)

SIDES = ("left", "right")


def side_id(device_id: str | None, side: str) -> str | None:
    """lerobot's per-arm calibration id: `<id>_left` / `<id>_right` (None stays None)."""
    return f"{device_id}_{side}" if device_id else None


@dataclass(kw_only=True)
class BiSoFollowerConfig(RobotConfig):
    type: ClassVar[str] = "bi_so_follower"
    left_arm_config: So100FollowerConfig = option(help="the left arm (port, cameras, …)")
    right_arm_config: So100FollowerConfig = option(help="the right arm (port, cameras, …)")

    def __post_init__(self) -> None:
        shared = set(self.cameras)
        taken = shared & (set(self.left_arm_config.cameras) | set(self.right_arm_config.cameras))
        if taken:
            raise ConfigError(
                f"--robot.cameras: {sorted(taken)} also named on an arm; give each camera "
                "one name (top-level cameras keep theirs, per-arm ones get left_/right_)"
            )


@dataclass(kw_only=True)
class BiSoLeaderConfig(TeleoperatorConfig):
    type: ClassVar[str] = "bi_so_leader"
    left_arm_config: So100LeaderConfig = option(help="the left leader arm (port, …)")
    right_arm_config: So100LeaderConfig = option(help="the right leader arm (port, …)")


def _connect_both(arms: Mapping[str, Device], calibrate: bool) -> None:
    """Left arm, then right; if the right fails, the left is disconnected again."""
    connected: list[Device] = []
    try:
        for arm in arms.values():
            arm.connect(calibrate)
            connected.append(arm)
    except BaseException:
        for arm in connected:
            arm.disconnect()
        raise


def _prefixed(side: str, values: dict[str, Any], keep: Set[str] = frozenset()) -> dict[str, Any]:
    return {k if k in keep else f"{side}_{k}": v for k, v in values.items()}


def _both_sides(arms: dict, value: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """One arm's `value` for each side, its keys prefixed with the side (left first)."""
    return {k: v for side in SIDES for k, v in _prefixed(side, value(arms[side])).items()}


def _split(action: dict[str, float]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {side: {} for side in SIDES}
    for key, value in action.items():
        side, _, rest = key.partition("_")
        if side not in out or not rest:
            raise ValueError(f"send_action: {key!r} names no arm (left_… or right_…)")
        out[side][rest] = value
    return out


class BiSoFollower(Robot):
    """Public: `arms` ({"left": SoFollower, "right": SoFollower}), `cameras` by feature name."""

    name: ClassVar[str] = "bi_so_follower"
    config: BiSoFollowerConfig

    def __init__(self, config: BiSoFollowerConfig):
        super().__init__(config)
        self._shared = {*config.cameras, *(f"{name}_depth" for name in config.cameras)}
        left = dataclasses.replace(
            config.left_arm_config,
            id=side_id(config.id, "left"),
            cameras={**config.left_arm_config.cameras, **config.cameras},
        )
        right = dataclasses.replace(config.right_arm_config, id=side_id(config.id, "right"))
        self.arms = {"left": SoFollower(left), "right": SoFollower(right)}
        self.cameras = {
            **_prefixed("left", self.arms["left"].cameras, self._shared),
            **_prefixed("right", self.arms["right"].cameras),
        }

    def _keep(self, side: str) -> set[str]:
        return self._shared if side == "left" else set()

    @property
    def observation_features(self) -> Features:
        motors = _both_sides(self.arms, lambda arm: arm.action_features)
        cams = camera_features(self.cameras)
        return {**motors, **cams}

    @property
    def action_features(self) -> Features:
        return _both_sides(self.arms, lambda arm: arm.action_features)

    @property
    def diagnostic_features(self) -> Features:
        return _both_sides(self.arms, lambda arm: arm.diagnostic_features)

    @property
    def is_connected(self) -> bool:
        return all(arm.is_connected for arm in self.arms.values())

    def joint_ranges(self) -> dict[str, tuple[float, float]]:
        return _both_sides(self.arms, lambda arm: arm.joint_ranges())

    def take_recoveries(self) -> list[str]:
        return [
            f"{side} arm: {text}" for side in SIDES for text in self.arms[side].take_recoveries()
        ]

    def connect(self, calibrate: bool = True) -> None:
        _connect_both(self.arms, calibrate)

    def get_observation(self) -> dict[str, Any]:
        obs: dict[str, Any] = {}
        for side, arm in self.arms.items():
            obs.update(_prefixed(side, arm.get_observation(), self._keep(side)))
        return obs

    def send_action(self, action: dict[str, float]) -> dict[str, float]:
        sent: dict[str, float] = {}
        for side, goals in _split(action).items():
            if goals:
                sent.update(_prefixed(side, self.arms[side].send_action(goals)))
        return sent

    def hold(self) -> None:
        for arm in self.arms.values():
            arm.hold()

    def emergency_stop(self) -> None:
        for arm in self.arms.values():
            arm.emergency_stop()

    def disconnect(self) -> None:
        """Both arms, each tried even if the other fails."""
        errors = []
        for side, arm in self.arms.items():
            try:
                arm.disconnect()
            except DeviceError as error:
                errors.append(f"{side} arm: {error}")
        if errors:
            raise DeviceError("; ".join(errors))


class BiSoLeader(Teleoperator):
    """Public: `arms` ({"left": SoLeader, "right": SoLeader})."""

    name: ClassVar[str] = "bi_so_leader"
    config: BiSoLeaderConfig

    def __init__(self, config: BiSoLeaderConfig):
        super().__init__(config)
        sides = {"left": config.left_arm_config, "right": config.right_arm_config}
        self.arms = {
            side: SoLeader(dataclasses.replace(arm, id=side_id(config.id, side)))
            for side, arm in sides.items()
        }

    @property
    def action_features(self) -> Features:
        return _both_sides(self.arms, lambda arm: arm.action_features)

    @property
    def is_connected(self) -> bool:
        return all(arm.is_connected for arm in self.arms.values())

    def connect(self, calibrate: bool = True) -> None:
        _connect_both(self.arms, calibrate)

    def get_action(self) -> dict[str, float]:
        action: dict[str, float] = {}
        for side, arm in self.arms.items():
            action.update(_prefixed(side, arm.get_action()))
        return action

    def disconnect(self) -> None:
        for arm in self.arms.values():
            arm.disconnect()
