"""Keyboard teleoperation: held keys jog the arm or drive LeKiwi's base; mapping is shown."""

import pytest

from hardware.errors import ConfigError, DeviceError
from hardware.teleop.keyboard import KeyboardTeleop, KeyboardTeleopConfig

SO_ARM = dict.fromkeys(
    [
        f"{m}.pos"
        for m in (
            "shoulder_pan",
            "shoulder_lift",
            "elbow_flex",
            "wrist_flex",
            "wrist_roll",
            "gripper",
        )
    ],
    float,
)
LEKIWI = {**{f"arm_{k}": float for k in SO_ARM}, "x.vel": float, "y.vel": float, "theta.vel": float}
POSE = {k: 10.0 for k in SO_ARM}


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def arm_keyboard(**kw):
    clock = Clock()
    kb = KeyboardTeleop(KeyboardTeleopConfig(**kw), clock=clock)
    kb.bind(SO_ARM)
    kb.connect()
    kb.feedback(POSE)
    return kb, clock


def test_held_key_jogs_a_joint_at_the_configured_speed_and_stops_on_release():
    kb, clock = arm_keyboard(joint_speed=20.0)
    assert kb.get_action() == POSE  # nothing held: the arm stays where it is
    assert kb.press("w") is True
    clock.now += 0.5
    action = kb.get_action()
    assert action["shoulder_lift.pos"] == pytest.approx(20.0)  # 10 + 20/s * 0.5 s
    assert action["shoulder_pan.pos"] == 10.0
    kb.release("w")
    clock.now += 0.5
    assert kb.get_action()["shoulder_lift.pos"] == pytest.approx(20.0)  # held where it was left


def test_terminal_press_counts_as_held_until_the_hold_timeout():
    kb, clock = arm_keyboard(joint_speed=10.0, hold_timeout_s=0.3)
    kb.press("a")  # terminals send no release: the press holds for 0.3 s
    clock.now += 0.2
    assert kb.get_action()["shoulder_pan.pos"] == pytest.approx(8.0)
    clock.now += 0.2  # past the timeout: released at 0.3 s
    assert kb.held_keys() == []
    assert kb.get_action()["shoulder_pan.pos"] == pytest.approx(7.0)
    clock.now += 0.2
    assert kb.get_action()["shoulder_pan.pos"] == pytest.approx(7.0)
    kb.press("A")  # caps lock still jogs
    assert kb.held_keys() == ["a"]


def test_gripper_stays_between_closed_and_open():
    kb, clock = arm_keyboard(gripper_speed=100.0)
    kb.press("o")
    for _ in range(10):
        clock.now += 0.15
        kb.press("o")  # key repeat
        action = kb.get_action()
    assert action["gripper.pos"] == 100.0
    kb.release("o")
    kb.press("c")
    for _ in range(20):
        clock.now += 0.15
        kb.press("c")
        action = kb.get_action()
    assert action["gripper.pos"] == 0.0


def test_unmapped_and_session_keys_are_left_to_the_session():
    kb, _ = arm_keyboard()
    for key in ("n", "q", "r", "right", "left", "escape"):
        assert not kb.claims(key)
        assert kb.press(key) is False
    assert kb.held_keys() == []


def test_no_pose_yet_is_a_clear_error():
    kb = KeyboardTeleop(KeyboardTeleopConfig())
    kb.bind(SO_ARM)
    kb.connect()
    with pytest.raises(DeviceError, match="no robot pose"):
        kb.get_action()


def test_lekiwi_base_keys_give_lerobot_velocities_and_speed_levels():
    clock = Clock()
    kb = KeyboardTeleop(KeyboardTeleopConfig(), clock=clock)
    kb.bind(LEKIWI)
    assert kb.mode == "base"
    assert kb.action_features == {"x.vel": float, "y.vel": float, "theta.vel": float}
    kb.connect()
    assert kb.get_action() == {"x.vel": 0.0, "y.vel": 0.0, "theta.vel": 0.0}
    kb.press("w")
    kb.press("z")
    assert kb.get_action() == {"x.vel": 0.1, "y.vel": 0.0, "theta.vel": 30.0}
    assert kb.press("r") is False  # the session's re-record key, not lerobot's faster
    kb.press("e")
    kb.press("e")
    kb.press("e")  # capped at fast
    kb.release("w")
    kb.release("z")
    kb.press("d")
    kb.press("x")
    assert kb.get_action() == {"x.vel": 0.0, "y.vel": -0.3, "theta.vel": -90.0}
    kb.press("f")
    assert kb.get_action()["y.vel"] == pytest.approx(-0.2)


def test_custom_mapping_is_used_and_described():
    kb, clock = arm_keyboard(keys={"1": "elbow_flex+", "2": "gripper-"}, joint_speed=10.0)
    assert kb.mapping_help() == [("1", "elbow_flex +"), ("2", "gripper close")]
    assert not kb.claims("w")
    kb.press("1")
    clock.now += 1.0  # one press, no repeat: held for the 0.6 s timeout only
    assert kb.get_action()["elbow_flex.pos"] == pytest.approx(16.0)


def test_default_mappings_are_described_for_the_console():
    kb, _ = arm_keyboard()
    help_ = dict(kb.mapping_help())
    assert help_["w"] == "shoulder_lift +" and help_["o"] == "gripper open"
    base = KeyboardTeleop(KeyboardTeleopConfig(mode="base"))
    assert dict(base.mapping_help())["e"].startswith("faster")


def test_bad_mappings_name_the_key_and_the_fix():
    with pytest.raises(ConfigError, match="'p' -> 'elbow'"):
        KeyboardTeleop(KeyboardTeleopConfig(keys={"p": "elbow"})).bind(SO_ARM)
    with pytest.raises(ConfigError, match="'p' -> 'jump' is not a base command"):
        KeyboardTeleop(KeyboardTeleopConfig(keys={"p": "jump"})).bind(LEKIWI)
    with pytest.raises(ConfigError, match="no mobile base"):
        KeyboardTeleop(KeyboardTeleopConfig(mode="base")).bind(SO_ARM)
    with pytest.raises(ConfigError, match="auto, arm or base"):
        KeyboardTeleopConfig(mode="fly")


def test_keys_from_another_thread_are_safe():
    import threading

    kb, clock = arm_keyboard()

    def hammer():
        for _ in range(2000):
            kb.press("w")
            kb.release("w")

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    for _ in range(200):
        kb.get_action()
    for t in threads:
        t.join()
    assert kb.held_keys() == []


def test_lekiwi_client_teleop_keys_drive_the_base_from_the_keyboard():
    from core.devices import build_teleop
    from hardware.lekiwi.client import TELEOP_KEYS, LeKiwiClientConfig

    keys = dict(TELEOP_KEYS, forward="i", backward="k")
    robot = LeKiwiClientConfig(teleop_keys=keys)
    kb = build_teleop(KeyboardTeleopConfig(), LEKIWI, robot)
    kb.connect()
    assert kb.press("i") is True and kb.press("w") is False  # w is not forward any more
    assert kb.get_action()["x.vel"] == pytest.approx(0.1)
    kb.disconnect()
    default = build_teleop(KeyboardTeleopConfig(), LEKIWI, LeKiwiClientConfig())
    assert default.press("r") is False  # lerobot's map: lerecord's own, r re-records
