"""The STS3215 emulator speaks the real protocol: raw bytes, the vendor SDK, and our bus."""

import os
import select

import pytest
import scservo_sdk as scs

from hardware.feetech.bus import FeetechBus, Motor
from hardware.feetech.calibration import NormMode
from hardware.feetech.tables import decode_sign_magnitude, encode_sign_magnitude
from hardware.sim.bus_emulator import BusEmulator, checksum
from hardware.sim.servo import SimServo


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def emulator(clock):
    servos = [SimServo(i, 1000.0 + 100 * i) for i in range(1, 7)]
    with BusEmulator(servos, clock=clock) as emu:
        yield emu


@pytest.fixture
def raw(emulator):
    """A raw file descriptor on the emulator's port: send bytes, read the exact answer."""
    import termios
    import tty

    fd = os.open(emulator.port, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    termios.tcflush(fd, termios.TCIOFLUSH)

    def exchange(request: bytes, expect: int, timeout: float = 0.5) -> bytes:
        os.write(fd, request)
        data = b""
        while len(data) < expect:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                break
            data += os.read(fd, 4096)
        return data

    yield exchange
    os.close(fd)


@pytest.fixture
def sdk(emulator):
    port = scs.PortHandler(emulator.port)
    assert port.openPort()
    yield port, scs.PacketHandler(0)
    port.closePort()


def frame(servo_id: int, instruction: int, params: bytes = b"") -> bytes:
    body = bytes([servo_id, len(params) + 2, instruction]) + params
    return b"\xff\xff" + body + bytes([~sum(body) & 0xFF])


def test_ping_answers_with_an_empty_status_packet_and_a_valid_checksum(raw):
    assert raw(bytes.fromhex("ff ff 01 02 01 fb"), 6) == bytes.fromhex("ff ff 01 02 00 fc")
    assert checksum(bytes([1, 2, 0])) == 0xFC


def test_read_returns_the_model_number_777_little_endian(raw):
    reply = raw(frame(3, 2, bytes([3, 2])), 8)
    assert reply == frame(3, 0, bytes([0x09, 0x03]))


def test_a_packet_with_a_bad_checksum_gets_no_answer(raw):
    assert raw(bytes.fromhex("ff ff 01 02 01 00"), 6, timeout=0.1) == b""


def test_lerobot_sync_read_of_present_position_gets_six_answers_in_order(raw, emulator):
    # The bytes lerobot's FeetechMotorsBus.sync_read("Present_Position") sends for ids 1..6.
    request = bytes.fromhex("ff ff fe 0a 82 38 02 01 02 03 04 05 06")
    request += bytes([~sum(request[2:]) & 0xFF])
    reply = raw(request, 6 * 8)
    packets = [reply[i : i + 8] for i in range(0, len(reply), 8)]
    assert [p[2] for p in packets] == [1, 2, 3, 4, 5, 6]
    for i, p in enumerate(packets, start=1):
        assert p[-1] == ~sum(p[2:-1]) & 0xFF
        assert p[5] | p[6] << 8 == 1000 + 100 * i


def test_broadcast_ping_is_answered_by_every_servo_and_broadcast_write_by_none(raw, emulator):
    reply = raw(frame(0xFE, 1), 36)
    assert [reply[i + 2] for i in range(0, 36, 6)] == [1, 2, 3, 4, 5, 6]
    assert raw(frame(0xFE, 3, bytes([41, 77])), 1, timeout=0.1) == b""  # Acceleration = 77
    assert all(s.get("Acceleration") == 77 for s in emulator.servos.values())


def test_write_then_read_back_through_the_vendor_sdk(sdk, emulator):
    port, packets = sdk
    comm, error = packets.write2ByteTxRx(port, 2, 46, 1234)  # Goal_Velocity
    assert (comm, error) == (scs.COMM_SUCCESS, 0)
    value, comm, error = packets.read2ByteTxRx(port, 2, 46)
    assert (value, comm, error) == (1234, scs.COMM_SUCCESS, 0)
    model, comm, _ = packets.ping(port, 5)
    assert (model, comm) == (777, scs.COMM_SUCCESS)


def test_reg_write_takes_effect_only_on_action(sdk, emulator):
    port, packets = sdk
    comm, _ = packets.regWriteTxRx(port, 4, 41, 1, [99])
    assert comm == scs.COMM_SUCCESS
    assert emulator.servos[4].get("Acceleration") == 0
    packets.action(port, scs.BROADCAST_ID)
    packets.read1ByteTxRx(port, 4, 41)  # any later exchange: the action has been handled
    assert emulator.servos[4].get("Acceleration") == 99


def test_sdk_group_sync_write_and_read(sdk, emulator):
    port, packets = sdk
    writer = scs.GroupSyncWrite(port, packets, 46, 2)
    for i in range(1, 7):
        writer.addParam(i, [i * 10, 1])
    assert writer.txPacket() == scs.COMM_SUCCESS
    reader = scs.GroupSyncRead(port, packets, 46, 2)
    for i in range(1, 7):
        reader.addParam(i)
    assert reader.txRxPacket() == scs.COMM_SUCCESS
    assert [reader.getData(i, 46, 2) for i in range(1, 7)] == [256 + i * 10 for i in range(1, 7)]


def test_sign_magnitude_encoding_matches_lerobot():
    assert encode_sign_magnitude(-5, 11) == 0x805
    assert encode_sign_magnitude(2047, 11) == 2047
    assert decode_sign_magnitude(0x805, 11) == -5
    assert decode_sign_magnitude(0x8000 | 300, 15) == -300
    assert decode_sign_magnitude(0x400 | 250, 10) == -250
    with pytest.raises(ValueError):
        encode_sign_magnitude(2048, 11)


def _bus(emulator, mode=NormMode.DEGREES) -> FeetechBus:
    names = ["a", "b", "c", "d", "e", "f"]
    bus = FeetechBus(emulator.port, {n: Motor(i + 1, mode) for i, n in enumerate(names)})
    bus.connect()
    return bus


def test_negative_homing_offset_is_sign_magnitude_and_shifts_present_position(emulator):
    bus = _bus(emulator)
    bus.disable_torque()  # unlocks the EEPROM
    bus.write("Homing_Offset", "a", -200, normalize=False)
    assert emulator.servos[1].get("Homing_Offset") == 0x800 | 200
    assert bus.read("Homing_Offset", "a", normalize=False) == -200
    assert bus.read("Present_Position", "a", normalize=False) == 1100 + 200  # actual − offset
    bus.disconnect()


def test_eeprom_ignores_writes_while_locked(emulator):
    bus = _bus(emulator)
    bus.write("Lock", "b", 1)
    bus.write("Min_Position_Limit", "b", 500, normalize=False)
    assert bus.read("Min_Position_Limit", "b", normalize=False) == 0
    bus.write("Lock", "b", 0)
    bus.write("Min_Position_Limit", "b", 500, normalize=False)
    assert bus.read("Min_Position_Limit", "b", normalize=False) == 500
    bus.disconnect()


def test_position_follows_the_goal_at_finite_speed_and_stops_at_the_limit(emulator, clock):
    bus = _bus(emulator)
    bus.disable_torque()
    bus.write("Max_Position_Limit", "c", 2000, normalize=False)
    bus.enable_torque()
    start = bus.read("Present_Position", "c", normalize=False)
    assert start == 1300
    bus.sync_write("Goal_Position", {"c": 2500}, normalize=False)
    bus.ping(3)  # the goal is handled before the clock moves on
    clock.t += 0.1
    moving = bus.read_state(["c"])["c"]
    assert start < moving.position < 2000  # 0.1 s is not enough for 700 steps
    assert moving.velocity > 0 and moving.moving
    clock.t += 2.0
    assert bus.read_state(["c"])["c"].position == 2000  # clamped to Max_Position_Limit
    bus.disconnect()


def test_load_and_current_grow_with_effort_and_temperature_rises_under_load(emulator, clock):
    bus = _bus(emulator)
    bus.enable_torque()
    idle = bus.read_state()["d"]
    servo = emulator.servos[4]
    servo.gravity_load = 60.0  # a heavy object held at arm's length
    bus.sync_write("Goal_Position", {"d": 1500}, normalize=False)
    bus.ping(4)
    clock.t += 0.05
    pushing = bus.read_state()["d"]
    assert abs(pushing.load) > abs(idle.load) + 10
    assert pushing.current > idle.current + 100
    assert 4.0 < pushing.voltage <= 12.0
    clock.t += 120.0
    assert bus.read_state()["d"].temperature > idle.temperature + 5
    bus.disconnect()


def test_read_state_is_one_sync_read_of_the_block_56_to_70(emulator):
    bus = _bus(emulator)
    emulator.received.clear()
    states = bus.read_state()
    assert len(emulator.received) == 1
    sent = emulator.received[0]
    assert (sent[2], sent[4], sent[5], sent[6]) == (0xFE, 0x82, 56, 15)
    assert states["a"].position == 1100 and states["a"].voltage == 12.0
    assert states["a"].temperature == 25.0
    bus.disconnect()
