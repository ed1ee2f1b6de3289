"""Keyboard teleoperation: held keys jog an arm's joints, or drive a mobile base (LeKiwi).

Keys are handed in by whoever owns the keyboard: the console app (a `TeleopKey` command to the
engine) or, headless, the terminal reader (`core.terminal_keys`). Nothing here listens to a
global X hook, so it works over SSH. `press(key)` / `release(key)` are thread-safe.

Terminals (and most terminal emulators under Textual) send no key-release events: holding a
key repeats its press. A key therefore counts as held until `hold_timeout_s` after its last
press, or until `release(key)` when the source does report releases. The timeout must exceed
the terminal's key-repeat delay (typically 0.25–0.5 s) for a held key to move smoothly.

Modes (`mode="auto"` picks from the robot's action features, see `bind`):
- arm: `keys` maps a key to `<joint>+` or `<joint>-`; the goal moves at `joint_speed` units/s
  (the robot's units: degrees, or % of range) and the gripper at `gripper_speed`.
- base: lerobot's LeKiwi keys: w/s forward/backward, a/d left/right, z/x rotate left/right,
  f slower and e faster through 0.1/0.2/0.3 m/s and 30/60/90 deg/s; gives `x.vel`, `y.vel`,
  `theta.vel`. lerobot's faster key is r, which is re-record here (as in lerobot 0.6, where
  pressing it does both): set `keys` to have it back.
The session keys (n, r, q, arrows, Esc) are left free by both default maps.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from hardware.base import Features, Teleoperator, TeleoperatorConfig
from hardware.errors import ConfigError
from hardware.option import option
from hardware.teleop.jog import JointJog, joint_features

log = logging.getLogger(__name__)

BASE_FEATURES = ("x.vel", "y.vel", "theta.vel")
SPEED_LEVELS = ((0.1, 30.0), (0.2, 60.0), (0.3, 90.0))  # (m/s, deg/s): slow, medium, fast

ARM_KEYS = {
    "a": "shoulder_pan-",
    "d": "shoulder_pan+",
    "s": "shoulder_lift-",
    "w": "shoulder_lift+",
    "k": "elbow_flex-",
    "i": "elbow_flex+",
    "g": "wrist_flex-",
    "t": "wrist_flex+",
    "j": "wrist_roll-",
    "l": "wrist_roll+",
    "c": "gripper-",
    "o": "gripper+",
}
BASE_KEYS = {
    "w": "forward",
    "s": "backward",
    "a": "left",
    "d": "right",
    "z": "rotate_left",
    "x": "rotate_right",
    "e": "speed_up",
    "f": "speed_down",
}
_BASE_MOVES = {  # meaning -> (x, y, theta) direction
    "forward": (1, 0, 0),
    "backward": (-1, 0, 0),
    "left": (0, 1, 0),
    "right": (0, -1, 0),
    "rotate_left": (0, 0, 1),
    "rotate_right": (0, 0, -1),
}
_BASE_HELP = {
    "forward": "drive forward",
    "backward": "drive backward",
    "left": "drive left",
    "right": "drive right",
    "rotate_left": "turn left",
    "rotate_right": "turn right",
    "speed_up": "faster (0.1/0.2/0.3 m/s)",
    "speed_down": "slower",
}


@runtime_checkable
class KeyedRobot(Protocol):
    """A robot config that names the keys driving its base (lerobot's lekiwi_client
    `teleop_keys`): a keyboard given no keys of its own uses them."""

    def keyboard_keys(self) -> dict[str, str] | None: ...


def with_robot_keys(config: KeyboardTeleopConfig, robot_config: object) -> KeyboardTeleopConfig:
    """`config`, taking the robot's base keys when it has none of its own."""
    if config.keys is None and config.mode != "arm" and isinstance(robot_config, KeyedRobot):
        keys = robot_config.keyboard_keys()
        if keys is not None:
            return dataclasses.replace(config, keys=keys)
    return config


@dataclass(kw_only=True)
class KeyboardTeleopConfig(TeleoperatorConfig):
    type: ClassVar[str] = "keyboard"
    mode: str = option(
        "auto",
        help="what the keys drive (auto: the base on a mobile robot, else the arm)",
        choices=("auto", "arm", "base"),
    )
    keys: dict[str, str] | None = option(None, help="key -> meaning, replacing the default key map")
    joint_speed: float = option(30.0, help="joint speed while a key is held", unit="deg/s")
    gripper_speed: float = option(50.0, help="gripper speed while a key is held", unit="deg/s")
    hold_timeout_s: float = option(
        0.6, help="a key counts as held this long after its last repeat", unit="s"
    )

    def __post_init__(self) -> None:
        if self.mode not in ("auto", "arm", "base"):
            raise ConfigError(f"--teleop.mode={self.mode!r}: use auto, arm or base")
        if self.hold_timeout_s <= 0:
            raise ConfigError("--teleop.hold_timeout_s must be > 0 (seconds a key stays held)")


def _normal(key: str) -> str:
    return key.lower() if len(key) == 1 else key


class KeyboardTeleop(Teleoperator):
    name: ClassVar[str] = "keyboard"
    config: KeyboardTeleopConfig

    def __init__(self, config: KeyboardTeleopConfig, clock: Callable[[], float] = time.monotonic):
        super().__init__(config)
        self._clock = clock
        self._lock = threading.Lock()
        self._held: dict[str, tuple[float, float]] = {}  # key -> (held since, held until)
        self._last_action: float | None = None
        self._mode: str | None = config.mode if config.mode == "base" else None
        self._keys: dict[str, str] = {}
        self._jog: JointJog | None = None
        self._joints: dict[str, str] = {}
        self._speed_index = 0
        self._connected = False
        if self._mode == "base":
            self._keys = self._checked_base_keys()

    # ---- set-up --------------------------------------------------------------------------------

    def bind(self, robot_action_features: Features) -> None:
        has_base = all(f in robot_action_features for f in BASE_FEATURES)
        mode = self.config.mode
        if mode == "auto":
            mode = "base" if has_base else "arm"
        if mode == "base":
            if not has_base:
                raise ConfigError(
                    "--teleop.mode=base: this robot has no mobile base (no x.vel/y.vel/theta.vel "
                    "action); use mode=arm"
                )
            self._keys = self._checked_base_keys()
        else:
            self._joints = joint_features(robot_action_features)
            if not self._joints:
                raise ConfigError("keyboard teleop: the robot has no joint (.pos) action to jog")
            self._keys = self._checked_arm_keys()
            self._jog = JointJog(list(self._joints.values()))
        self._mode = mode

    def _checked_base_keys(self) -> dict[str, str]:
        keys = {_normal(k): v for k, v in (self.config.keys or BASE_KEYS).items()}
        for key, meaning in keys.items():
            if meaning not in _BASE_HELP:
                raise ConfigError(
                    f"--teleop.keys: {key!r} -> {meaning!r} is not a base command; "
                    f"use one of {', '.join(_BASE_HELP)}"
                )
        return keys

    def _checked_arm_keys(self) -> dict[str, str]:
        keys = {_normal(k): v for k, v in (self.config.keys or ARM_KEYS).items()}
        for key, meaning in keys.items():
            joint, sign = meaning[:-1], meaning[-1:]
            if sign not in "+-" or not sign or joint not in self._joints:
                raise ConfigError(
                    f"--teleop.keys: {key!r} -> {meaning!r} is not '<joint>+' or '<joint>-' "
                    f"for a joint of this robot ({', '.join(self._joints)})"
                )
        return keys

    @property
    def mode(self) -> str | None:
        """ "arm" or "base" once bound (base is known at once when configured)."""
        return self._mode

    @property
    def action_features(self) -> Features:
        if self._mode == "base":
            return dict.fromkeys(BASE_FEATURES, float)
        return dict.fromkeys(self._joints.values(), float)

    @property
    def is_connected(self) -> bool:
        return self._connected

    def connect(self, calibrate: bool = True) -> None:
        if self._mode is None:
            raise ConfigError("keyboard teleop: bind(robot.action_features) before connect()")
        self._connected = True

    def disconnect(self) -> None:
        with self._lock:
            self._held.clear()
        self._connected = False

    # ---- keys ----------------------------------------------------------------------------------

    def claims(self, key: str) -> bool:
        """Whether this key is in the mapping (the session keeps the others)."""
        return _normal(key) in self._keys

    def press(self, key: str) -> bool:
        """A key went down (or repeated). Returns whether the key is mapped."""
        key = _normal(key)
        meaning = self._keys.get(key)
        if meaning is None:
            return False
        with self._lock:
            if meaning == "speed_up":
                self._speed_index = min(self._speed_index + 1, len(SPEED_LEVELS) - 1)
            elif meaning == "speed_down":
                self._speed_index = max(self._speed_index - 1, 0)
            else:
                now = self._clock()
                since = self._held.get(key, (now, now))[0]
                self._held[key] = (since, now + self.config.hold_timeout_s)
        return True

    def release(self, key: str) -> None:
        with self._lock:
            self._held.pop(_normal(key), None)

    def held_keys(self) -> list[str]:
        now = self._clock()
        with self._lock:
            return sorted(k for k, (_, until) in self._held.items() if until > now)

    def _held_durations(self) -> dict[str, float]:
        """Seconds each key was held since the last action; forgets keys no longer held."""
        now = self._clock()
        start = self._last_action
        self._last_action = now
        with self._lock:
            held = {
                key: min(now, until) - (since if start is None else max(since, start))
                for key, (since, until) in self._held.items()
            }
            for key in [k for k, (_, until) in self._held.items() if until <= now]:
                del self._held[key]
        return {key: seconds for key, seconds in held.items() if seconds > 0}

    @property
    def speed_index(self) -> int:
        return self._speed_index

    def mapping_help(self) -> list[tuple[str, str]]:
        """(key, what it does) for the console to show, in mapping order."""
        if self._mode == "base":
            return [(k, _BASE_HELP[m]) for k, m in self._keys.items()]
        return [
            (
                k,
                f"{m[:-1]} {'open' if m[-1] == '+' else 'close'}"
                if m[:-1] == "gripper"
                else f"{m[:-1]} {m[-1]}",
            )
            for k, m in self._keys.items()
        ]

    # ---- actions -------------------------------------------------------------------------------

    def feedback(self, observation: dict[str, Any]) -> None:
        if self._jog is not None:
            self._jog.follow(observation)

    def get_action(self) -> dict[str, float]:
        if self._mode == "base":
            meanings = [self._keys[k] for k in self.held_keys()]
            xy, theta = SPEED_LEVELS[self._speed_index]
            x = y = t = 0.0
            for meaning in meanings:
                dx, dy, dt = _BASE_MOVES.get(meaning, (0, 0, 0))
                x, y, t = x + dx * xy, y + dy * xy, t + dt * theta
            return {"x.vel": x, "y.vel": y, "theta.vel": t}
        assert self._jog is not None, "bind() first"
        deltas: dict[str, float] = {}
        for key, seconds in self._held_durations().items():
            meaning = self._keys[key]
            joint, sign = meaning[:-1], 1.0 if meaning[-1] == "+" else -1.0
            speed = self.config.gripper_speed if joint == "gripper" else self.config.joint_speed
            feature = self._joints[joint]
            deltas[feature] = deltas.get(feature, 0.0) + sign * speed * seconds
        return self._jog.move(deltas, "keyboard teleop")
