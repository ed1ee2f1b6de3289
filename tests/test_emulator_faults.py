"""Each fault a real bus can have, injected into the emulator, gives its own clear error."""

import os
import tempfile

import pytest

from hardware.errors import DeviceError
from hardware.feetech.bus import FeetechBus, ServoFault
from hardware.sim.arms import make_servos
from hardware.sim.bus_emulator import BusEmulator
from hardware.so_arm.arm import so_motors
from hardware.so_arm.follower import So101FollowerConfig, SoFollower


@pytest.fixture
def emulator():
    with BusEmulator(make_servos("so101_follower")) as emu:
        yield emu


def _bus(port: str, num_retry: int = 2, connect: bool = True, **kw) -> FeetechBus:
    bus = FeetechBus(port, so_motors(True), num_retry=num_retry, **kw)
    if connect:
        bus.connect()
    return bus


def test_a_missing_port_names_the_port_and_find_port():
    with pytest.raises(DeviceError, match=r"/dev/ttyNOPE0 not found.*lerecord find-port"):
        _bus("/dev/ttyNOPE0")


def test_a_port_already_in_use_is_busy(emulator):
    first = _bus(emulator.port)
    with pytest.raises(DeviceError, match="is busy"):
        _bus(emulator.port)
    first.disconnect()


def test_a_bus_with_no_servo_answering(emulator):
    emulator.command("poweroff")
    with pytest.raises(DeviceError, match="no servo answered on .*power supply"):
        _bus(emulator.port, num_retry=0, timeout_ms=20)


def test_a_wrong_id_set_names_expected_found_and_missing(emulator):
    emulator.command("silent 4")
    with pytest.raises(DeviceError) as error:
        _bus(emulator.port, num_retry=0)
    message = str(error.value)
    assert "expected shoulder_pan=1" in message and "found ids 1 2 3 5 6" in message
    assert "missing wrist_flex (id 4)" in message and "\n" not in message


def test_a_servo_of_another_model_is_refused(emulator):
    emulator.servos[2].set("Model_Number", 1284)
    with pytest.raises(DeviceError, match=r"shoulder_lift \(id 2\).*model 1284, expected STS3215"):
        _bus(emulator.port)


def test_a_servo_that_stops_answering_is_named_after_the_retries(emulator):
    bus = _bus(emulator.port)
    emulator.command("silent 3")
    with pytest.raises(DeviceError, match=r"elbow_flex \(id 3\) .* did not answer .*3 tries"):
        bus.read_state()
    with pytest.raises(DeviceError, match=r"elbow_flex \(id 3\)"):
        bus.read("Present_Position", "elbow_flex", normalize=False)
    emulator.command("clear")
    assert len(bus.read_state()) == 6  # nothing left over from the failed exchanges
    bus.disconnect()


def test_a_corrupt_reply_is_retried_and_a_servo_that_keeps_corrupting_is_named(emulator):
    bus = _bus(emulator.port)
    emulator.command("corrupt 5 1")
    assert len(bus.read_state()) == 6
    emulator.command("corrupt 5")
    with pytest.raises(DeviceError, match=r"wrist_roll \(id 5\) .*corrupt replies"):
        bus.read_state()
    bus.disconnect()


def test_overheating_and_overload_are_reported_with_the_servo_and_cut_its_torque(emulator):
    bus = _bus(emulator.port)
    bus.enable_torque()
    emulator.command("overheat 2")
    with pytest.raises(ServoFault, match=r"shoulder_lift \(id 2\) .*reports overheating") as fault:
        bus.read_state()
    assert fault.value.error & 0x04 and fault.value.motor == "shoulder_lift"
    assert emulator.servos[2].get("Torque_Enable") == 0
    assert emulator.servos[2].get("Present_Temperature") > 70
    emulator.command("clear")
    emulator.command("overload 6")
    with pytest.raises(ServoFault, match=r"gripper \(id 6\) .*overloaded"):
        bus.read("Present_Load", "gripper")
    bus.disconnect()  # torque off still goes through despite the error bits
    assert all(s.get("Torque_Enable") == 0 for s in emulator.servos.values())


def test_a_sagging_supply_is_only_a_warning_while_reading_state(emulator, caplog):
    bus = _bus(emulator.port)
    emulator.servos[1].error = 0x01  # input voltage out of range
    assert len(bus.read_state()) == 6
    assert "shoulder_pan (id 1) reports its supply voltage out of range" in caplog.text
    with pytest.raises(ServoFault, match="input voltage out of range"):
        bus.read("Present_Position", "shoulder_pan")
    bus.disconnect()


def test_an_unplugged_bus_is_a_lost_connection_and_disconnect_still_returns(emulator):
    bus = _bus(emulator.port)
    emulator.command("unplug")
    with pytest.raises(DeviceError, match="lost the servo bus on .*USB cable"):
        bus.read_state()
    bus.disconnect()
    assert not bus.is_connected


def test_faults_reach_a_sim_arm_through_its_emulator_process(monkeypatch):
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", tempfile.mkdtemp())
    robot = SoFollower(So101FollowerConfig(port="sim", id="faulty"))
    robot.connect()
    try:
        assert robot.link.fault("overload 4") == "ok overload 4"
        with pytest.raises(ServoFault, match=r"wrist_flex \(id 4\)"):
            robot.get_observation()
        assert robot.link.fault("clear") == "ok clear"
        robot.get_observation()
        pid = robot.link.emulator.pid
        robot.link.fault("unplug")
        with pytest.raises(DeviceError, match="lost the servo bus"):
            robot.get_observation()
    finally:
        robot.disconnect()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # disconnect stopped the emulator process
