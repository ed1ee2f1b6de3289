"""The session's devices: the robot, its cameras and the teleoperators, and their features.

Features are known before anything connects, so the dataset and the policy are checked first.
"""

from __future__ import annotations

import logging

from core import messages as m
from hardware import registry
from hardware.base import (
    Camera,
    ExplainsControls,
    HasCameras,
    Robot,
    RobotConfig,
    TakesKeys,
    Teleoperator,
    TeleoperatorConfig,
)

log = logging.getLogger(__name__)


def teleop_configs(teleop_config, robot_config=None) -> list:
    """`--teleop` as a list: none, one, or several (LeKiwi); with `robot_config`, a keyboard
    takes the robot's base keys (lekiwi_client's `teleop_keys`) when given none."""
    if teleop_config is None:
        return []
    configs = list(teleop_config) if isinstance(teleop_config, (list, tuple)) else [teleop_config]
    if robot_config is None:
        return configs
    from hardware.teleop.keyboard import with_robot_keys

    return [with_robot_keys(c, robot_config) if c.type == "keyboard" else c for c in configs]


def build_teleop(
    teleop_config, robot_action_features: dict, robot_config=None
) -> Teleoperator | None:
    """One teleoperator or several (`--teleop='[…]'`), bound to the robot's action names
    (a leader's `<m>.pos` drive LeKiwi's `arm_<m>.pos`; see hardware.teleop.composite)."""
    if teleop_config is None:
        return None
    from hardware.teleop.composite import bind_teleoperators

    configs = teleop_configs(teleop_config, robot_config)
    teleops = [registry.make_teleoperator(c) for c in configs]
    return bind_teleoperators(teleops, robot_action_features)


def teleop_key_help(robot_config, teleop_config) -> list[tuple[str, str]]:
    """The keyboard teleoperator's keys and what they do (for the console's help), worked out
    from the configs alone: nothing is opened."""
    keyboards = [c for c in teleop_configs(teleop_config, robot_config) if c.type == "keyboard"]
    if not keyboards:
        return []
    features = registry.make_robot(robot_config).action_features
    rows: list[tuple[str, str]] = []
    for config in keyboards:
        keyboard = registry.make_teleoperator(config)
        keyboard.bind(features)
        if isinstance(keyboard, ExplainsControls):
            rows += keyboard.mapping_help()
    return rows


class Devices:
    def __init__(self, robot_config, teleop_config):
        self.robot: Robot = registry.make_robot(robot_config)
        self.teleop: Teleoperator | None = build_teleop(
            teleop_config, self.robot.action_features, robot_config
        )
        features = self.robot.observation_features
        self.state_names = [k for k, v in features.items() if not isinstance(v, tuple)]
        self.camera_names = [k for k, v in features.items() if isinstance(v, tuple)]
        self.action_names = list(self.robot.action_features)
        self.motors = [k.removesuffix(".pos") for k in self.state_names if k.endswith(".pos")]
        self.robot_label = _label(robot_config)
        self.teleop_configs = teleop_configs(teleop_config)
        self.connected: list[Robot | Teleoperator] = []

    @property
    def cameras(self) -> dict[str, Camera]:
        return self.robot.cameras if isinstance(self.robot, HasCameras) else {}

    def labels(self) -> tuple[str, ...]:
        """The devices beside the robot, for the session's first line and status bar."""
        out = [f"camera {name}" for name in self.camera_names]
        out += [_label(c) for c in self.teleop_configs]
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

    def disconnect(self) -> list[str]:
        """Robot first (motors safe), then the teleop; every device is tried. Returns a line
        for each thing the user must know is not safe (torque that may still be on)."""
        notes = []
        for device in sorted(self.connected, key=lambda d: d is not self.robot):
            try:
                device.disconnect()
            except Exception as error:  # keep going: the other devices must be released too
                log.warning("disconnecting %s: %s", type(device).__name__, error)
                if device is self.robot:
                    notes.append(f"{self.robot_label}: {error}; torque may still be on")
        if self.robot in self.connected and self.robot.torque_left_on:
            notes.append(self.robot.torque_left_on)
        self.connected.clear()
        return notes

    def teleop_action(self, obs: dict) -> dict[str, float]:
        self.teleop.feedback(obs)  # teleops that jog (keyboard, gamepad) start from the pose
        return self.teleop.get_action()

    def teleop_key(self, key: m.TeleopKey) -> None:
        if isinstance(self.teleop, TakesKeys):
            keys: TakesKeys = self.teleop
            if key.pressed:
                keys.press(key.key)
            else:
                keys.release(key.key)


def _label(config: RobotConfig | TeleoperatorConfig) -> str:
    """`so101_follower 'arm_1'`: the device type and, when it has one, its id."""
    return config.type + (f" '{config.id}'" if config.id else "")
