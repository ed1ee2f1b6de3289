"""Several teleoperators at once: actions merged by feature name, conflicts named."""

import pytest

from hardware.errors import ConfigError
from hardware.so_arm.leader import So100LeaderConfig, SoLeader
from hardware.teleop.composite import CompositeTeleop, bind_teleoperators
from hardware.teleop.keyboard import KeyboardTeleop, KeyboardTeleopConfig

MOTORS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
SO_ARM = {f"{m}.pos": float for m in MOTORS}
LEKIWI = {
    **{f"arm_{m}.pos": float for m in MOTORS},
    "x.vel": float,
    "y.vel": float,
    "theta.vel": float,
}


def leader() -> SoLeader:
    """A real SO-100 leader; its emulator starts only when it connects."""
    return SoLeader(So100LeaderConfig(port="sim", id="composite"))


def test_lekiwi_leader_and_keyboard_merge_into_the_robots_nine_actions(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", str(tmp_path))
    keyboard = KeyboardTeleop(KeyboardTeleopConfig())
    arm = leader()
    teleop = bind_teleoperators([arm, keyboard], LEKIWI)
    assert isinstance(teleop, CompositeTeleop)
    assert set(teleop.action_features) == set(LEKIWI)
    teleop.connect()
    assert teleop.is_connected
    teleop.press("w")
    action = teleop.get_action()
    assert "elbow_flex.pos" not in action
    assert action["arm_gripper.pos"] == pytest.approx(arm.get_action()["gripper.pos"], abs=5)
    assert action["x.vel"] == pytest.approx(0.1) and action["theta.vel"] == 0.0
    assert set(action) == set(LEKIWI)
    assert ("w", "drive forward") in teleop.mapping_help()
    assert teleop.claims("w") and not teleop.claims("n")
    teleop.disconnect()
    assert not keyboard.is_connected


def test_two_teleoperators_claiming_a_feature_is_an_error_naming_both():
    with pytest.raises(ConfigError) as error:
        bind_teleoperators([leader(), KeyboardTeleop(KeyboardTeleopConfig())], SO_ARM)
    message = str(error.value)
    assert "teleop #1 (so100_leader)" in message and "teleop #2 (keyboard)" in message
    assert "'shoulder_pan.pos'" in message


def test_a_feature_the_robot_does_not_take_is_an_error():
    base_only = {"x.vel": float, "y.vel": float, "theta.vel": float}
    with pytest.raises(ConfigError, match=r"teleop #1 \(so100_leader\) gives 'shoulder_pan.pos'"):
        CompositeTeleop([leader()], base_only)
    with pytest.raises(ConfigError, match="at least one"):
        bind_teleoperators([], SO_ARM)


def test_a_single_teleoperator_needing_no_renaming_is_used_as_is():
    arm = leader()
    assert bind_teleoperators([arm], SO_ARM) is arm
    assert isinstance(bind_teleoperators([leader()], LEKIWI), CompositeTeleop)


def test_feedback_reaches_the_keyboard_jogging_inside_the_composite():
    keyboard = KeyboardTeleop(KeyboardTeleopConfig(mode="arm"))
    teleop = CompositeTeleop([keyboard], LEKIWI)
    assert set(teleop.action_features) == {f"arm_{m}.pos" for m in MOTORS}
    teleop.connect()
    teleop.feedback({f"arm_{m}.pos": 5.0 for m in MOTORS})
    assert teleop.get_action()["arm_gripper.pos"] == 5.0
