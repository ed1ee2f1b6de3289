"""The session's devices: the robot, its cameras and the teleoperators, and their features.

Features are known before anything connects, so the dataset and the policy are checked first.
"""

from __future__ import annotations

import logging

from core import messages as m
from hardware import registry
from hardware.base import Robot, Teleoperator

log = logging.getLogger(__name__)


def build_teleop(teleop_config) -> Teleoperator | None:
    if teleop_config is None:
        return None
    if isinstance(teleop_config, (list, tuple)):
        if len(teleop_config) == 1:
            return registry.make_teleoperator(teleop_config[0])
        from hardware.teleop.composite import CompositeTeleop

        return CompositeTeleop([registry.make_teleoperator(c) for c in teleop_config])
    return registry.make_teleoperator(teleop_config)


class Devices:
    def __init__(self, robot_config, teleop_config):
        self.robot: Robot = registry.make_robot(robot_config)
        self.teleop: Teleoperator | None = build_teleop(teleop_config)
        features = self.robot.observation_features
        self.state_names = [k for k, v in features.items() if not isinstance(v, tuple)]
        self.camera_names = [k for k, v in features.items() if isinstance(v, tuple)]
        self.action_names = list(self.robot.action_features)
        self.motors = [k.removesuffix(".pos") for k in self.state_names if k.endswith(".pos")]
        self.robot_label = f"{robot_config.type}" + (
            f" '{robot_config.id}'" if getattr(robot_config, "id", None) else ""
        )
        self.connected: list[object] = []

    @property
    def cameras(self) -> dict:
        return getattr(self.robot, "cameras", {})

    def labels(self) -> tuple[str, ...]:
        out = [self.robot_label]
        out += [f"camera {name}" for name in self.camera_names]
        if self.teleop is not None:
            out.append(type(self.teleop).__name__)
        return tuple(out)

    def connect(self) -> None:
        """Teleop first, then the robot (as lerobot 0.6). On failure, disconnect what connected."""
        try:
            if self.teleop is not None:
                self.teleop.connect()
                self.connected.append(self.teleop)
            self.robot.connect()
            self.connected.append(self.robot)
        except BaseException:
            self.disconnect()
            raise

    def disconnect(self) -> None:
        """Robot first (motors safe), then the teleop; every device is tried."""
        for device in sorted(self.connected, key=lambda d: d is not self.robot):
            try:
                device.disconnect()
            except Exception as error:  # keep going: the other devices must be released too
                log.warning("disconnecting %s: %s", type(device).__name__, error)
        self.connected.clear()

    def teleop_action(self, obs: dict) -> dict[str, float]:
        action = self.teleop.get_action()
        adapt = getattr(self.robot, "from_teleop_action", None)
        return adapt(action, obs) if adapt is not None else action

    def teleop_key(self, key: m.TeleopKey) -> None:
        target = getattr(self.teleop, "press" if key.pressed else "release", None)
        if target is not None:
            target(key.key)
