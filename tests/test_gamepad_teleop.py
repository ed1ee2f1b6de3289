"""Gamepad teleoperation, replaying events recorded from a pad (no pad exists here)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from needs import need

from hardware.errors import ConfigError, DeviceError
from hardware.teleop.gamepad import (
    GamepadMapping,
    GamepadTeleop,
    GamepadTeleopConfig,
    PadState,
)
from hardware.teleop.jog import joint_features

ROOT = Path(__file__).resolve().parents[1]
RECORDED = json.loads((ROOT / "tests/data/gamepad_events.json").read_text())["events"]
MOTORS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
SO_ARM = {f"{m}.pos": float for m in MOTORS}
POSE = {f"{m}.pos": 10.0 for m in MOTORS}


class ReplayPad:
    """Plays the recorded events back in time with the test's clock (the physical pad)."""

    name = "replayed pad"

    def __init__(self, clock):
        self.clock = clock
        self.pending = list(RECORDED)
        self.closed = False

    def events(self):
        due = [e for e in self.pending if e["t"] <= self.clock()]
        self.pending = self.pending[len(due) :]
        return [{k: v for k, v in e.items() if k != "t"} for e in due]

    def close(self):
        self.closed = True


def state_at(t: float) -> PadState:
    state = PadState()
    for event in RECORDED:
        if event["t"] <= t:
            state.apply(event)
    return state


def test_mapping_gives_no_motion_without_the_deadman():
    mapping = GamepadMapping(GamepadTeleopConfig(), joint_features(SO_ARM))
    assert state_at(0.2).axes[0] == 1.0  # stick fully over...
    assert mapping.velocities(state_at(0.2)) == {}  # ...but LB not held


def test_mapping_scales_sticks_past_the_deadzone():
    mapping = GamepadMapping(GamepadTeleopConfig(joint_speed=45.0), joint_features(SO_ARM))
    v = mapping.velocities(state_at(1.0))
    assert v["shoulder_pan.pos"] == pytest.approx(45.0)
    assert v["shoulder_lift.pos"] == pytest.approx(22.5)  # -0.56 up, inverted, past 0.12
    assert mapping.velocities(state_at(1.6)) == {}  # 0.08 on the right stick: inside the deadzone
    assert mapping.velocities(state_at(2.0)) == {"gripper.pos": pytest.approx(60.0)}


def test_replayed_session_moves_the_joints_and_holds_them_when_released():
    t = [0.0]
    pads = []

    def open_pad(index):
        pads.append(ReplayPad(lambda: t[0]))
        return pads[-1]

    pad = GamepadTeleop(GamepadTeleopConfig(), pad=open_pad, clock=lambda: t[0])
    pad.bind(SO_ARM)
    pad.connect()
    pad.feedback(POSE)
    actions = {}
    with pytest.raises(DeviceError, match="'replayed pad' was unplugged"):
        for step in range(0, 40):
            t[0] = step / 10
            actions[step] = pad.get_action()
    assert t[0] == pytest.approx(3.0)
    assert actions[9] == POSE  # stick without deadman: nothing moved
    end = actions[29]
    assert end["shoulder_pan.pos"] == pytest.approx(32.5)  # 45/s for 0.5 s
    assert end["shoulder_lift.pos"] == pytest.approx(21.25)  # 22.5/s for 0.5 s
    assert end["elbow_flex.pos"] == 10.0  # deadzone
    assert end["gripper.pos"] == pytest.approx(40.0)  # B held 0.5 s at 60/s
    assert end["wrist_flex.pos"] == 10.0  # right stick after the deadman was let go
    pad.disconnect()
    assert pads[0].closed and not pad.is_connected


def test_lekiwi_arm_joints_are_jogged_under_their_prefixed_names():
    lekiwi = {f"arm_{k}": float for k in SO_ARM} | {"x.vel": float}
    pad = GamepadTeleop(GamepadTeleopConfig(), pad=lambda i: ReplayPad(lambda: 0.0))
    pad.bind(lekiwi)
    assert set(pad.action_features) == {f"arm_{k}" for k in SO_ARM}


def test_bad_mapping_is_a_config_error():
    with pytest.raises(ConfigError, match="'7' -> 'elbow' is not"):
        GamepadTeleop(GamepadTeleopConfig(buttons={"7": "elbow"})).bind(SO_ARM)


_HAS_PYGAME = (
    subprocess.run([sys.executable, "-c", "import pygame"], capture_output=True).returncode == 0
)


def connect_in_fresh_python(prelude: str = "") -> str:
    code = prelude + (
        "from hardware.teleop.gamepad import GamepadTeleop, GamepadTeleopConfig\n"
        "from hardware.errors import DeviceError\n"
        "pad = GamepadTeleop(GamepadTeleopConfig())\n"
        f"pad.bind(dict.fromkeys({list(SO_ARM)!r}, float))\n"
        "try:\n    pad.connect()\nexcept DeviceError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    return out.stdout.strip() + out.stderr.strip()


def test_no_pad_connected_is_a_clear_error():
    need(_HAS_PYGAME, "pygame (extra 'gamepad')")
    # SDL really looks for controllers; this machine has none
    assert connect_in_fresh_python().startswith("no gamepad #0 connected (SDL sees 0)")


def test_missing_pygame_says_how_to_install_it():
    as_if_not_installed = "import sys; sys.modules['pygame'] = None\n"
    assert connect_in_fresh_python(as_if_not_installed) == (
        "the gamepad teleop needs pygame: pip install 'lerecord[gamepad]'"
    )


def test_on_lekiwi_the_pad_drives_the_base_while_the_deadman_is_held():
    lekiwi = {f"arm_{k}": float for k in SO_ARM} | dict.fromkeys(
        ["x.vel", "y.vel", "theta.vel"], float
    )
    t = [0.0]
    pad = GamepadTeleop(
        GamepadTeleopConfig(), pad=lambda i: ReplayPad(lambda: t[0]), clock=lambda: t[0]
    )
    pad.bind(lekiwi)  # a leader arm drives the arm; the pad, the base
    assert pad.action_features == {"x.vel": float, "y.vel": float, "theta.vel": float}
    pad.connect()
    actions = {}
    for step in range(29):
        t[0] = step / 10
        actions[step] = pad.get_action()
    assert actions[5] == {"x.vel": 0.0, "y.vel": 0.0, "theta.vel": 0.0}  # no deadman yet
    # left stick: 0.5 up (past the deadzone) -> forward 0.15 m/s; fully right -> -0.3 m/s sideways
    assert actions[12]["x.vel"] == pytest.approx(0.15)
    assert actions[12]["y.vel"] == pytest.approx(-0.3)
    assert actions[28] == {"x.vel": 0.0, "y.vel": 0.0, "theta.vel": 0.0}  # deadman let go
    assert ("axis 3", "theta-") in pad.mapping_help()


def test_use_gripper_false_leaves_the_gripper_alone():
    mapping = GamepadMapping(GamepadTeleopConfig(use_gripper=False), joint_features(SO_ARM))
    assert mapping.velocities(state_at(2.0)) == {}  # the gripper button, held: nothing moves
    assert "shoulder_pan.pos" in mapping.velocities(state_at(1.0))


def test_hidapi_fallback_is_refused_with_the_reason():
    with pytest.raises(ConfigError, match="hidapi_fallback: lerecord reads pads through SDL"):
        GamepadTeleopConfig(hidapi_fallback=True)
