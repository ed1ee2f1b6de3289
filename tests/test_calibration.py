"""lerobot's normalisation and calibration files, and the step-by-step calibration on the bus."""

import pytest

from hardware.errors import ConfigError, DeviceError
from hardware.feetech import calibration as files
from hardware.feetech.bus import FeetechBus
from hardware.feetech.calibration import MotorCalibration, NormMode, normalize, unnormalize
from hardware.feetech.procedure import ArmCalibration
from hardware.sim.arms import make_servos
from hardware.sim.bus_emulator import BusEmulator
from hardware.so_arm.arm import so_motors
from hardware.so_arm.follower import So101FollowerConfig, SoFollower

CAL = MotorCalibration(id=1, drive_mode=0, homing_offset=-12, range_min=1000, range_max=3000)

# A file as lerobot 0.6.1 writes it (draccus.dump(..., indent=4)): lerobot's own layout.
LEROBOT_FILE = """{
    "shoulder_pan": {
        "id": 1,
        "drive_mode": 0,
        "homing_offset": 55,
        "range_min": 847,
        "range_max": 3247
    },
    "gripper": {
        "id": 6,
        "drive_mode": 1,
        "homing_offset": -57,
        "range_min": 2010,
        "range_max": 3460
    }
}"""


def test_degrees_are_centred_on_the_middle_of_the_range_and_not_clamped():
    assert normalize(2000, CAL, NormMode.DEGREES) == 0.0
    assert normalize(3000, CAL, NormMode.DEGREES) == pytest.approx(1000 * 360 / 4095)
    assert normalize(4000, CAL, NormMode.DEGREES) == pytest.approx(2000 * 360 / 4095)
    assert unnormalize(90.0, CAL, NormMode.DEGREES) == int(90 * 4095 / 360 + 2000)


def test_range_modes_clamp_truncate_and_honour_drive_mode():
    assert normalize(1500, CAL, NormMode.RANGE_M100_100) == -50.0
    assert normalize(500, CAL, NormMode.RANGE_M100_100) == -100.0
    assert normalize(2500, CAL, NormMode.RANGE_0_100) == 75.0
    inverted = MotorCalibration(1, 1, 0, 1000, 3000)
    assert normalize(1500, inverted, NormMode.RANGE_M100_100) == 50.0
    assert normalize(2500, inverted, NormMode.RANGE_0_100) == 25.0
    assert unnormalize(150.0, CAL, NormMode.RANGE_M100_100) == 3000
    assert unnormalize(33.33, CAL, NormMode.RANGE_0_100) == int(0.3333 * 2000 + 1000)
    assert unnormalize(25.0, inverted, NormMode.RANGE_0_100) == 2500
    for raw in (1000, 1234, 2999):
        for mode in NormMode:
            back = unnormalize(normalize(raw, CAL, mode), CAL, mode)
            assert abs(back - raw) <= 1


def test_equal_min_and_max_is_an_error():
    with pytest.raises(ValueError, match="range_min equals range_max"):
        normalize(5, MotorCalibration(1, 0, 0, 7, 7), NormMode.RANGE_0_100)


def test_files_are_written_exactly_like_lerobot_and_lerobot_files_load(tmp_path):
    loaded = files.load(_write(tmp_path / "a.json", LEROBOT_FILE))
    assert loaded["gripper"] == MotorCalibration(6, 1, -57, 2010, 3460)
    files.save(loaded, tmp_path / "b.json")
    assert (tmp_path / "b.json").read_text() == LEROBOT_FILE


def test_file_text_matches_draccus_dump(tmp_path):
    import io

    import draccus

    calibration = files.load(_write(tmp_path / "a.json", LEROBOT_FILE))
    stream = io.StringIO()
    with draccus.config_type("json"):
        draccus.dump(calibration, stream, indent=4)
    assert files.dumps(calibration) == stream.getvalue()


def test_calibration_folder_follows_lerobot_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", str(tmp_path / "cal"))
    path = files.calibration_path("robots", "so_follower", "arm1")
    assert path == tmp_path / "cal" / "robots" / "so_follower" / "arm1.json"
    monkeypatch.delenv("HF_LEROBOT_CALIBRATION")
    monkeypatch.delenv("HF_LEROBOT_HOME", raising=False)
    monkeypatch.delenv("HF_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert files.calibration_path("teleoperators", "so_leader", "x") == (
        tmp_path / ".cache/huggingface/lerobot/calibration/teleoperators/so_leader/x.json"
    )


def test_a_malformed_file_is_a_one_line_error_naming_it(tmp_path):
    path = _write(tmp_path / "bad.json", '{"shoulder_pan": {"id": 1}}')
    with pytest.raises(Exception, match="bad.json.*lerecord calibrate"):
        files.load(path)


@pytest.fixture
def arm():
    with BusEmulator(make_servos("so101_follower")) as emu:
        bus = FeetechBus(emu.port, so_motors(use_degrees=True))
        bus.connect()
        yield emu, bus
        bus.disconnect()


def test_step_by_step_calibration_does_half_turn_homing_and_records_ranges(arm, tmp_path):
    emu, bus = arm
    steps = ArmCalibration(bus, tmp_path / "f.json")
    steps.start()
    assert all(s.get("Torque_Enable") == 0 for s in emu.servos.values())
    actual = {i: emu.servos[i].actual for i in range(1, 7)}
    offsets = steps.set_middle()
    for name, servo_id in [("shoulder_pan", 1), ("gripper", 6)]:
        assert offsets[name] == round(actual[servo_id]) - 2047
    assert set(bus.sync_read("Present_Position", normalize=False).values()) == {2047}
    for servo_id in range(1, 7):  # the user moves each joint both ways
        emu.servos[servo_id].actual += 300
    steps.sample()
    for servo_id in range(1, 7):
        emu.servos[servo_id].actual -= 500
    rows = steps.sample()
    assert rows["elbow_flex"].min == 2047 - 200 and rows["elbow_flex"].max == 2047 + 300
    assert "wrist_roll" not in rows
    calibration = steps.finish()
    assert calibration["wrist_roll"] == MotorCalibration(5, 0, offsets["wrist_roll"], 0, 4095)
    assert calibration["gripper"].range_min == 1847 and calibration["gripper"].range_max == 2347
    assert files.load(tmp_path / "f.json") == calibration
    assert bus.read_calibration() == calibration  # registers hold what the file says
    assert bus.calibration_matches(calibration)


def test_finishing_with_a_joint_that_never_moved_is_an_error(arm, tmp_path):
    _, bus = arm
    steps = ArmCalibration(bus, tmp_path / "f.json")
    steps.start()
    steps.set_middle()
    steps.sample()
    with pytest.raises(ConfigError, match="did not move"):
        steps.finish()
    assert not (tmp_path / "f.json").exists()


def _follower(port: str) -> SoFollower:
    return SoFollower(So101FollowerConfig(port=port, id="arm1"))


def test_a_real_arm_without_a_file_or_with_another_calibration_is_refused(
    arm, tmp_path, monkeypatch
):
    emu, bus = arm
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", str(tmp_path))
    bus.disconnect()  # the follower opens the port itself
    with pytest.raises(
        DeviceError, match=r"arm1\.json.*lerecord calibrate --robot.type=so101_follower"
    ):
        _follower(emu.port).connect()
    path = tmp_path / "robots" / "so_follower" / "arm1.json"
    probe = FeetechBus(emu.port, so_motors(True))
    probe.connect()
    held = probe.read_calibration()
    probe.disconnect(disable_torque=False)
    other = {
        m: MotorCalibration(c.id, 0, c.homing_offset + 1, c.range_min, c.range_max)
        for m, c in held.items()
    }
    files.save(other, path)
    with pytest.raises(DeviceError, match="do not hold the calibration in .*arm1.json"):
        _follower(emu.port).connect()
    files.save(held, path)
    robot = _follower(emu.port)
    robot.connect()
    assert robot.get_observation()["gripper.pos"] == pytest.approx(
        normalize(emu.servos[6].get("Present_Position"), held["gripper"], NormMode.RANGE_0_100)
    )
    robot.disconnect()


def _write(path, text):
    path.write_text(text)
    return path


def test_a_file_lerobot_0_4_2_wrote_under_the_type_folder_is_used(arm, tmp_path, monkeypatch):
    emu, bus = arm
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", str(tmp_path))
    held = bus.read_calibration()
    bus.disconnect()
    files.save(held, tmp_path / "robots" / "so101_follower" / "old.json")
    robot = SoFollower(So101FollowerConfig(port=emu.port, id="old"))
    robot.connect()
    assert robot.bus.calibration == held
    robot.disconnect()
