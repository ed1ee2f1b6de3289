"""Gamepad teleoperation: sticks and buttons jog the arm's joints while a deadman is held.

Nothing moves unless the deadman button is held; letting it go holds the arm where it is.
A stick's deflection past `deadzone` sets a joint's speed (up to `joint_speed` units/s, the
robot's units); a mapped button moves its joint at full speed while pressed. On a robot with a
mobile base (LeKiwi, `mode="auto"`), the pad drives the base instead: left stick forward/back
and sideways (up to `base_speed` m/s), right stick turns (up to `base_turn_speed` deg/s).

Default layout (SDL's numbering of an Xbox-style pad on Linux; other pads: set `axes` and
`buttons`, whose keys are the SDL axis/button numbers):
    hold LB (button 4) to move
    left stick: shoulder_pan (x), shoulder_lift (y)
    right stick: wrist_flex (x), elbow_flex (y)
    X / Y (buttons 2 / 3): wrist_roll - / +
    A / B (buttons 0 / 1): gripper close / open

The pad is read with pygame's joystick API (SDL2, Linux and macOS, no window needed), an
optional extra: `pip install 'lerecord[gamepad]'`. The mapping itself (`PadState`,
`GamepadMapping`) is plain Python, so recorded events replay through it in tests.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from hardware.base import Features, Teleoperator, TeleoperatorConfig
from hardware.errors import ConfigError, DeviceError
from hardware.option import option
from hardware.teleop.jog import JointJog, joint_features

log = logging.getLogger(__name__)

AXES = {"0": "shoulder_pan+", "1": "shoulder_lift-", "3": "wrist_flex+", "4": "elbow_flex-"}
BUTTONS = {"2": "wrist_roll-", "3": "wrist_roll+", "0": "gripper-", "1": "gripper+"}
BASE_AXES = {"1": "x-", "0": "y-", "3": "theta-"}  # left stick drives, right stick turns
BASE = {"x": "x.vel", "y": "y.vel", "theta": "theta.vel"}
INSTALL = "pip install 'lerecord[gamepad]'"


@dataclass(kw_only=True)
class GamepadTeleopConfig(TeleoperatorConfig):
    type: ClassVar[str] = "gamepad"
    index: int = option(0, help="which gamepad, in SDL's order")
    deadman_button: int = option(4, help="button held to move (released: the arm holds)")
    axes: dict[str, str] = option(
        default_factory=lambda: dict(AXES), help="stick axis number -> joint and direction"
    )
    buttons: dict[str, str] = option(
        default_factory=lambda: dict(BUTTONS), help="button number -> joint and direction"
    )
    joint_speed: float = option(45.0, help="joint speed at full deflection", unit="deg/s")
    gripper_speed: float = option(60.0, help="gripper speed at full deflection", unit="deg/s")
    deadzone: float = option(0.12, help="stick deflection ignored around the centre (0..1)")
    mode: str = option(
        "auto",
        help="what the pad drives (auto: the base on a mobile robot, else the arm)",
        choices=("auto", "arm", "base"),
    )
    base_axes: dict[str, str] = option(
        default_factory=lambda: dict(BASE_AXES), help="stick axis number -> base motion"
    )
    base_speed: float = option(0.3, help="base speed at full deflection", unit="m/s")
    base_turn_speed: float = option(90.0, help="base turn rate at full deflection", unit="deg/s")
    use_gripper: bool = option(True, help="the pad moves the gripper too (false: it holds)")
    hidapi_fallback: bool = option(
        False, help="lerobot's hidapi reader; lerecord reads every pad through SDL (false only)"
    )

    def __post_init__(self) -> None:
        if not 0 <= self.deadzone < 1:
            raise ConfigError("--teleop.deadzone must be in [0, 1)")
        if self.mode not in ("auto", "arm", "base"):
            raise ConfigError(f"--teleop.mode={self.mode!r}: use auto, arm or base")
        if self.hidapi_fallback:
            raise ConfigError(
                "--teleop.hidapi_fallback: lerecord reads pads through SDL only; leave it false "
                "(a pad SDL does not see: check it with `jstest`)"
            )


@dataclass
class PadState:
    """The pad as the events so far left it."""

    axes: dict[int, float] = field(default_factory=dict)
    buttons: dict[int, bool] = field(default_factory=dict)
    connected: bool = True

    def apply(self, event: dict[str, Any]) -> None:
        """`{"type": "axis", "axis": i, "value": v}`, `{"type": "button", "button": i,
        "down": bool}` or `{"type": "removed"}` (the pad was unplugged)."""
        kind = event["type"]
        if kind == "axis":
            self.axes[int(event["axis"])] = float(event["value"])
        elif kind == "button":
            self.buttons[int(event["button"])] = bool(event["down"])
        elif kind == "removed":
            self.connected = False


def _parse(
    table: dict[str, str], targets: dict[str, str], what: str
) -> dict[int, tuple[str, float]]:
    parsed = {}
    for index, meaning in table.items():
        name, sign = meaning[:-1], meaning[-1:]
        if not str(index).isdigit() or sign not in ("+", "-") or name not in targets:
            raise ConfigError(
                f"--teleop.{what}: {index!r} -> {meaning!r} is not '<name>+' or '<name>-' "
                f"for one of {', '.join(targets)}, keyed by SDL's number"
            )
        parsed[int(index)] = (targets[name], 1.0 if sign == "+" else -1.0)
    return parsed


def _is_gripper(feature: str) -> bool:
    return feature.endswith("gripper.pos")


class GamepadMapping:
    """Pad state -> velocities (robot feature -> units/s), zero unless the deadman is held.

    Arm: `joints` maps joint names to the robot's `.pos` features (jogged). Base (`joints` None):
    the sticks give `x.vel`, `y.vel` (m/s) and `theta.vel` (deg/s) directly.
    """

    def __init__(self, config: GamepadTeleopConfig, joints: dict[str, str] | None):
        self.config = config
        if joints is None:
            self.axes = _parse(config.base_axes, BASE, "base_axes")
            self.buttons: dict[int, tuple[str, float]] = {}
        else:
            self.axes = _parse(config.axes, joints, "axes")
            self.buttons = _parse(config.buttons, joints, "buttons")
            if not config.use_gripper:  # lerobot's use_gripper=false: the gripper holds
                self.axes = {k: v for k, v in self.axes.items() if not _is_gripper(v[0])}
                self.buttons = {k: v for k, v in self.buttons.items() if not _is_gripper(v[0])}

    def _speed(self, feature: str) -> float:
        c = self.config
        if feature in ("x.vel", "y.vel"):
            return c.base_speed
        if feature == "theta.vel":
            return c.base_turn_speed
        return c.gripper_speed if feature.endswith("gripper.pos") else c.joint_speed

    def velocities(self, state: PadState) -> dict[str, float]:
        if not state.buttons.get(self.config.deadman_button, False):
            return {}
        dz = self.config.deadzone
        out: dict[str, float] = {}
        for axis, (feature, sign) in self.axes.items():
            value = state.axes.get(axis, 0.0)
            if abs(value) > dz:
                scaled = (abs(value) - dz) / (1 - dz) * (1 if value > 0 else -1)
                out[feature] = out.get(feature, 0.0) + sign * scaled * self._speed(feature)
        for button, (feature, sign) in self.buttons.items():
            if state.buttons.get(button, False):
                out[feature] = out.get(feature, 0.0) + sign * self._speed(feature)
        return out


class PadSource(Protocol):
    name: str

    def events(self) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


class PygamePad:
    """A game controller through SDL2 (pygame), with no window (dummy video driver).

    Every SDL call happens on this pad's own thread (SDL wants its events pumped on the thread
    that initialised it); the control loop only takes the events that thread queued.
    """

    POLL_S = 0.005

    def __init__(self, index: int):
        self.name = ""
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._error: DeviceError | None = None
        self._thread = threading.Thread(
            target=self._run, args=(index,), name="gamepad", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(10):
            self.close()
            raise DeviceError("the gamepad library did not start within 10 s")
        if self._error is not None:
            self._thread.join()
            raise self._error

    def _open(self, index: int) -> Any:
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        os.environ.setdefault("SDL_JOYSTICK_ALLOW_BACKGROUND_EVENTS", "1")
        try:
            import pygame
        except ImportError:
            raise DeviceError(f"the gamepad teleop needs pygame: {INSTALL}") from None
        pygame.display.init()
        pygame.joystick.init()
        count = pygame.joystick.get_count()
        if index >= count:
            pygame.joystick.quit()
            pygame.display.quit()
            raise DeviceError(
                f"no gamepad #{index} connected (SDL sees {count}): plug one in (on Linux, "
                "check read access to /dev/input/event*), or set --teleop.index"
            )
        return pygame

    def _run(self, index: int) -> None:
        try:
            pg = self._open(index)
        except DeviceError as error:
            self._error = error
            self._ready.set()
            return
        pad = pg.joystick.Joystick(index)
        pad.init()
        pad_id, self.name = pad.get_instance_id(), pad.get_name()
        self._ready.set()
        kinds = (pg.JOYAXISMOTION, pg.JOYBUTTONDOWN, pg.JOYBUTTONUP, pg.JOYDEVICEREMOVED)
        try:
            while not self._stop.wait(self.POLL_S):
                for e in pg.event.get(kinds):
                    if getattr(e, "instance_id", pad_id) != pad_id:
                        continue
                    if e.type == pg.JOYAXISMOTION:
                        self._queue.put({"type": "axis", "axis": e.axis, "value": e.value})
                    elif e.type == pg.JOYDEVICEREMOVED:
                        self._queue.put({"type": "removed"})
                    else:
                        down = e.type == pg.JOYBUTTONDOWN
                        self._queue.put({"type": "button", "button": e.button, "down": down})
        finally:
            pg.joystick.quit()
            pg.display.quit()

    def events(self) -> list[dict[str, Any]]:
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


class GamepadTeleop(Teleoperator):
    name: ClassVar[str] = "gamepad"
    config: GamepadTeleopConfig

    def __init__(
        self,
        config: GamepadTeleopConfig,
        pad: Callable[[int], PadSource] = PygamePad,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(config)
        self._open_pad = pad
        self._clock = clock
        self._pad: PadSource | None = None
        self._state = PadState()
        self._mapping: GamepadMapping | None = None
        self._jog: JointJog | None = None
        self._last: float | None = None

    def bind(self, robot_action_features: Features) -> None:
        has_base = all(f in robot_action_features for f in BASE.values())
        mode = self.config.mode
        if mode == "auto":
            mode = "base" if has_base else "arm"
        if mode == "base":
            if not has_base:
                raise ConfigError("--teleop.mode=base: this robot has no mobile base")
            self._mapping = GamepadMapping(self.config, None)
            self._jog = None
            return
        joints = joint_features(robot_action_features)
        if not joints:
            raise ConfigError("gamepad teleop: the robot has no joint (.pos) action to jog")
        self._mapping = GamepadMapping(self.config, joints)
        self._jog = JointJog(list(joints.values()))

    @property
    def drives_base(self) -> bool:
        return self._mapping is not None and self._jog is None

    @property
    def action_features(self) -> Features:
        if self.drives_base:
            return dict.fromkeys(BASE.values(), float)
        return dict.fromkeys(self._jog.features, float) if self._jog else {}

    @property
    def is_connected(self) -> bool:
        return self._pad is not None

    def connect(self, calibrate: bool = True) -> None:
        if self._mapping is None:
            raise ConfigError("gamepad teleop: bind(robot.action_features) before connect()")
        self._pad = self._open_pad(self.config.index)
        self._state = PadState()
        log.info("gamepad: %s", self._pad.name)

    def disconnect(self) -> None:
        if self._pad is not None:
            self._pad.close()
            self._pad = None

    def feedback(self, observation: dict[str, Any]) -> None:
        if self._jog is not None:
            self._jog.follow(observation)

    def mapping_help(self) -> list[tuple[str, str]]:
        help_ = [(f"button {self.config.deadman_button}", "hold to move (deadman)")]
        if self.drives_base:
            return help_ + [(f"axis {a}", m) for a, m in self.config.base_axes.items()]
        help_ += [(f"axis {a}", m) for a, m in self.config.axes.items()]
        help_ += [(f"button {b}", m) for b, m in self.config.buttons.items()]
        return help_

    def get_action(self) -> dict[str, float]:
        if self._pad is None or self._mapping is None:
            raise DeviceError("gamepad teleop: not connected; call connect() first")
        now = self._clock()
        dt = 0.0 if self._last is None else min(now - self._last, 0.2)
        self._last = now
        # the pad held its previous state over the time since the last step
        velocities = self._mapping.velocities(self._state)
        for event in self._pad.events():
            self._state.apply(event)
        if not self._state.connected:
            raise DeviceError(f"gamepad {self._pad.name!r} was unplugged; plug it back in")
        if self._jog is None:  # the base: velocities are the action (zero without the deadman)
            return {f: velocities.get(f, 0.0) for f in BASE.values()}
        return self._jog.move({f: v * dt for f, v in velocities.items()}, "gamepad teleop")
