"""SO-101 follower and leader on emulated buses: observations, actions, safety, calibration."""

import os
import time

import pytest

from hardware.errors import ConfigError
from hardware.feetech import calibration as files
from hardware.feetech.bus import FeetechBus
from hardware.registry import config_class, make_robot, make_teleoperator
from hardware.sim.arms import SO_JOINTS, make_servos, present_for
from hardware.sim.bus_emulator import BusEmulator
from hardware.so_arm.arm import so_motors
from hardware.so_arm.follower import So101FollowerConfig, SoFollower, clamp_relative
from hardware.so_arm.leader import So101LeaderConfig, SoLeader

MOTORS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]


@pytest.fixture(autouse=True)
def calibration_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", str(tmp_path / "calibration"))
    return tmp_path / "calibration"


def _factory_file(port: str, kind: str, name: str, device_id: str) -> None:
    """Write the servos' own calibration as the user's file (as after `lerecord calibrate`)."""
    bus = FeetechBus(port, so_motors(True))
    bus.connect()
    files.save(bus.read_calibration(), files.calibration_path(kind, name, device_id))
    bus.disconnect(disable_torque=False)


@pytest.fixture
def follower_bus():
    with BusEmulator(make_servos("so101_follower")) as emu:
        _factory_file(emu.port, "robots", "so_follower", "f1")
        yield emu


@pytest.fixture
def leader_bus():
    with BusEmulator(make_servos("so101_leader")) as emu:
        _factory_file(emu.port, "teleoperators", "so_leader", "l1")
        yield emu


def _follower(port, **kw) -> SoFollower:
    return SoFollower(So101FollowerConfig(port=port, id="f1", **kw))


def test_features_are_known_before_connecting_and_match_lerobot():
    robot = make_robot(config_class("robot", "so101_follower")(port="/dev/null", id="x"))
    assert list(robot.observation_features) == [f"{m}.pos" for m in MOTORS]
    assert robot.action_features == {f"{m}.pos": float for m in MOTORS}
    assert "gripper.temperature" in robot.diagnostic_features
    assert len(robot.diagnostic_features) == 24
    assert robot.name == "so_follower"
    leader = make_teleoperator(config_class("teleop", "so100_leader")(port="/dev/null"))
    assert leader.name == "so_leader" and list(leader.action_features) == list(
        robot.action_features
    )


def test_observation_carries_positions_and_diagnostics_in_physical_units(follower_bus):
    robot = _follower(follower_bus.port)
    robot.connect()
    obs = robot.get_observation()
    assert set(obs) == set(robot.observation_features) | set(robot.diagnostic_features)
    assert obs["shoulder_lift.pos"] == pytest.approx(-95.0, abs=0.2)  # the rest pose
    assert obs["gripper.pos"] == pytest.approx(2.0, abs=0.2)
    assert obs["elbow_flex.voltage"] == pytest.approx(12.0, abs=0.3)
    assert obs["elbow_flex.temperature"] == 25.0
    robot.disconnect()


def test_connect_configures_the_servos_as_lerobot_does(follower_bus):
    robot = _follower(follower_bus.port)
    robot.connect()
    pan, gripper = follower_bus.servos[1], follower_bus.servos[6]
    assert pan.get("Return_Delay_Time") == 0 and pan.get("Acceleration") == 254
    assert pan.get("Maximum_Acceleration") == 254 and not pan.get("Phase") & 0x10
    assert (pan.get("P_Coefficient"), pan.get("I_Coefficient"), pan.get("D_Coefficient")) == (
        16,
        0,
        32,
    )
    assert gripper.get("Max_Torque_Limit") == 500 and gripper.get("Protection_Current") == 250
    assert gripper.get("Overload_Torque") == 25 and pan.get("Max_Torque_Limit") == 1000
    assert pan.get("Torque_Enable") == 1 and pan.get("Lock") == 1
    robot.disconnect()


def test_send_action_moves_the_arm_and_returns_what_was_sent(follower_bus):
    robot = _follower(follower_bus.port)
    robot.connect()
    action = {f"{m}.pos": 0.0 for m in MOTORS} | {"gripper.pos": 50.0}
    assert robot.send_action(action) == action
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        obs = robot.get_observation()
        if all(abs(obs[k] - v) < 0.5 for k, v in action.items()):
            break
        time.sleep(0.02)
    assert obs["shoulder_lift.pos"] == pytest.approx(0.0, abs=0.5)
    assert obs["gripper.pos"] == pytest.approx(50.0, abs=0.5)
    robot.disconnect()


def test_max_relative_target_clamps_each_goal_around_the_present_position(follower_bus):
    robot = _follower(follower_bus.port, max_relative_target={"shoulder_lift": 5.0, "gripper": 2.0})
    robot.connect()
    present = robot.get_observation()
    sent = robot.send_action({"shoulder_lift.pos": 0.0, "gripper.pos": 0.0, "elbow_flex.pos": 80.0})
    assert sent["shoulder_lift.pos"] == pytest.approx(present["shoulder_lift.pos"] + 5.0, abs=0.1)
    assert sent["gripper.pos"] == pytest.approx(present["gripper.pos"] - 2.0, abs=0.1)
    assert sent["elbow_flex.pos"] == 80.0  # no cap given for this motor
    robot.get_observation()  # an exchange after the (unanswered) goal write: it has been handled
    goal = follower_bus.servos[2].get("Goal_Position")
    assert goal == robot.bus.unnormalize("shoulder_lift", sent["shoulder_lift.pos"])
    robot.disconnect()
    assert clamp_relative({"a": 10.0}, {"a": 0.0}, 3.0) == {"a": 3.0}
    assert clamp_relative({"a": -10.0}, {"a": 0.0}, 3.0) == {"a": -3.0}


def test_invalid_max_relative_target_is_a_config_error():
    with pytest.raises(ConfigError, match="max_relative_target"):
        So101FollowerConfig(port="sim", max_relative_target=-1.0)
    with pytest.raises(ConfigError, match="elbow"):
        So101FollowerConfig(port="sim", max_relative_target={"elbow": 3.0})


def test_hold_stops_the_arm_where_it_is_and_emergency_stop_cuts_torque(follower_bus):
    robot = _follower(follower_bus.port)
    robot.connect()
    robot.send_action({"shoulder_pan.pos": 90.0})
    time.sleep(0.1)
    robot.hold()
    time.sleep(0.3)  # it brakes, and settles where it was told to hold
    held = robot.get_observation()["shoulder_pan.pos"]
    time.sleep(0.3)
    assert 0 < held < 80
    assert robot.get_observation()["shoulder_pan.pos"] == pytest.approx(held, abs=0.2)
    robot.emergency_stop()
    assert all(s.get("Torque_Enable") == 0 for s in follower_bus.servos.values())
    robot.disconnect()


def test_disconnect_leaves_torque_off_unless_configured_otherwise(follower_bus):
    robot = _follower(follower_bus.port, disable_torque_on_disconnect=False)
    robot.connect()
    robot.disconnect()
    assert follower_bus.servos[3].get("Torque_Enable") == 1
    robot = _follower(follower_bus.port)
    robot.connect()
    robot.disconnect()
    assert all(s.get("Torque_Enable") == 0 for s in follower_bus.servos.values())
    assert not robot.is_connected


def test_one_pose_reads_the_same_on_the_simulated_leader_and_follower(follower_bus, leader_bus):
    pose = {
        "shoulder_pan": 20.0,
        "shoulder_lift": -40.0,
        "elbow_flex": 35.0,
        "wrist_flex": 10.0,
        "wrist_roll": -30.0,
        "gripper": 40.0,
    }
    for emu in (follower_bus, leader_bus):
        for joint in SO_JOINTS:
            servo = emu.servos[joint.id]
            servo.hand = None
            servo.actual = present_for(joint, pose[joint.name]) + servo.homing_offset
    robot = _follower(follower_bus.port)
    leader = SoLeader(So101LeaderConfig(port=leader_bus.port, id="l1"))
    robot.connect()
    leader.connect()
    action = leader.get_action()
    obs = robot.get_observation()
    for m in MOTORS:
        assert action[f"{m}.pos"] == pytest.approx(pose[m], abs=0.1)
        assert obs[f"{m}.pos"] == pytest.approx(action[f"{m}.pos"], abs=0.1)
    assert follower_bus.servos[1].homing_offset != leader_bus.servos[1].homing_offset
    leader.disconnect()
    robot.disconnect()


def test_sim_leader_moves_by_itself_and_sim_follower_mirrors_it(calibration_dir):
    leader = SoLeader(So101LeaderConfig(port="sim", id="sim_l"))
    robot = SoFollower(So101FollowerConfig(port="sim", id="sim_f"))
    leader.connect()
    robot.connect()
    try:
        assert (calibration_dir / "teleoperators/so_leader/sim_l.json").exists()
        assert (calibration_dir / "robots/so_follower/sim_f.json").exists()
        first = leader.get_action()
        time.sleep(1.5)
        for _ in range(40):
            action = leader.get_action()
            robot.send_action(action)
            time.sleep(0.02)
        assert any(abs(action[k] - first[k]) > 5 for k in first)  # the hand moved
        time.sleep(0.3)
        obs = robot.get_observation()
        assert all(abs(obs[k] - action[k]) < 3.0 for k in action)
        emulators = [leader.link.emulator.pid, robot.link.emulator.pid]
    finally:
        leader.disconnect()
        robot.disconnect()
    assert leader.link.emulator is None and robot.link.emulator is None
    for pid in emulators:  # both emulator processes have ended
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_the_sim_camera_draws_the_follower_in_its_current_pose(follower_bus):
    from hardware.sim.camera import SimCameraConfig

    cameras = {"front": SimCameraConfig(width=160, height=120, fps=30)}
    robot = _follower(follower_bus.port, cameras=cameras)
    assert robot.observation_features["front"] == (120, 160, 3)
    robot.connect()
    time.sleep(0.2)
    before = robot.get_observation()["front"]
    assert before.shape == (120, 160, 3) and before.dtype.name == "uint8"
    robot.send_action({"shoulder_lift.pos": 0.0, "elbow_flex.pos": 0.0})
    for _ in range(20):  # a control loop: the camera draws the pose of the last observation
        time.sleep(0.05)
        after = robot.get_observation()["front"]
    assert (after != before).any(axis=2).mean() > 0.01  # the drawn arm moved
    robot.disconnect()
    assert not robot.cameras["front"].is_connected
