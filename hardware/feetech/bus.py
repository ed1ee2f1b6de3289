"""A bus of Feetech STS3215 servos on one serial port, driven with the vendor SDK (`scservo_sdk`).

It speaks to the servos the way lerobot's FeetechMotorsBus does (protocol 0, 1 Mbps, same
registers, same retries: `1 + num_retry` attempts, no delay) and adds what a console needs:
one-line `DeviceError`s naming the servo and the fix, motor error bits reported as `ServoFault`,
and `read_state()`, which reads position, velocity, load, voltage, temperature and current of
every servo in ONE sync read of the contiguous block 56..70.

Thread-safe: every transaction holds the bus lock, so `emergency_stop()` from another thread
never interleaves bytes with the control loop's read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import scservo_sdk as scs

from hardware.errors import DeviceError
from hardware.feetech.calibration import (
    Calibration,
    MotorCalibration,
    NormMode,
    normalize,
    unnormalize,
)
from hardware.feetech.port import PORT_ERRORS, ServoPort, default_timeout_ms, port_problem
from hardware.feetech.tables import (
    BROADCAST_ID,
    CONTROL_TABLE,
    LOAD_PERCENT_PER_UNIT,
    MILLIAMP_PER_UNIT,
    MODEL_NUMBERS,
    RESOLUTION,
    SIGN_BITS,
    STATE_BLOCK,
    VOLT_PER_UNIT,
    decode_sign_magnitude,
    describe_error,
    encode_sign_magnitude,
)

log = logging.getLogger(__name__)

TORQUE_OFF_GRACE_S = 3.0  # disconnect() asks servos that did not confirm torque off again this long
NORMALIZED = ("Goal_Position", "Present_Position")
RECOVERED_KEPT = 16  # failed exchanges a retry recovered, kept until the session asks
VOLTAGE_ERROR = 0x01  # a sagging supply: logged once in sync reads, not fatal (lerobot ignores it)


@dataclass(frozen=True)
class Motor:
    id: int
    norm_mode: NormMode
    model: str = "sts3215"


@dataclass(frozen=True)
class ServoState:
    """One servo's block 56..70 in physical units (position and velocity raw)."""

    position: int
    velocity: int  # steps/s
    load: float  # % of max torque, signed
    voltage: float  # V
    temperature: float  # °C
    current: float  # mA
    status: int
    moving: bool


class TorqueStillOn(DeviceError):
    """Servos that did not confirm torque off (they may still hold, or move, the arm)."""

    def __init__(self, message: str, motors: list[str]):
        super().__init__(message)
        self.motors = motors


class ServoFault(DeviceError):
    """A servo answered with error bits set (overheating, overload, …)."""

    def __init__(self, message: str, motor: str, servo_id: int, error: int):
        super().__init__(message)
        self.motor, self.servo_id, self.error = motor, servo_id, error


def _bytes(value: int, size: int) -> list[int]:
    return [(value >> (8 * i)) & 0xFF for i in range(size)]


def _value(data: list[int], offset: int, size: int) -> int:
    return sum(data[offset + i] << (8 * i) for i in range(size))


class FeetechBus:
    """Servos by name (`motors`), calibration by name; values in lerobot's normalised units."""

    def __init__(
        self,
        port: str,
        motors: dict[str, Motor],
        calibration: Calibration | None = None,
        *,
        num_retry: int = 0,
        timeout_ms: float | None = None,
    ):
        """`timeout_ms`: how long to wait for a status packet (default 50 ms, lerobot's; 250 ms
        on a pseudo-terminal, i.e. an emulator)."""
        self.port = port
        self.motors = dict(motors)
        self.calibration: Calibration = dict(calibration or {})
        self.num_retry = num_retry
        self._names = {m.id: name for name, m in self.motors.items()}
        self._lock = threading.RLock()
        self._port = ServoPort(port, timeout_ms or default_timeout_ms(port))
        self._packets = scs.PacketHandler(0)
        self._readers: dict[tuple, scs.GroupSyncRead] = {}
        self._writers: dict[tuple, scs.GroupSyncWrite] = {}
        self._voltage_warned: set[int] = set()
        self._recovered: deque[str] = deque(maxlen=RECOVERED_KEPT)
        self.torque_left_on: str | None = None  # after disconnect(): servos not confirmed off

    # ---- connection ----------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        return self._port.is_open

    def connect(self, handshake: bool = True) -> None:
        """Open the port at 1 Mbps and check that exactly the expected STS3215 ids answer."""
        if self.is_connected:
            raise DeviceError(f"bus {self.port} is already connected")
        try:
            self._port.openPort()
        except PORT_ERRORS as error:
            raise DeviceError(port_problem(self.port, error)) from None
        if handshake:
            try:
                self._handshake()
            except DeviceError:
                self._port.closePort()
                raise

    def _handshake(self) -> None:
        """lerobot's: ping every expected id and check its model (missing ones get retries)."""
        found = {}
        for name, motor in self.motors.items():
            model = self.ping(motor.id, num_retry=0)
            if model is not None:
                found[name] = model
        if found or self.scan():
            for name, motor in self.motors.items():
                if name not in found:
                    model = self.ping(motor.id, num_retry=max(self.num_retry, 1))
                    if model is not None:
                        found[name] = model
        if not found:
            raise DeviceError(
                f"no servo answered on {self.port} at 1 Mbps: check that the servo power supply is "
                "plugged in and the port is the servo bus (`lerecord find-port`)"
            )
        missing = [name for name in self.motors if name not in found]
        if missing:
            present = sorted(self.scan())
            expected = ", ".join(f"{n}={m.id}" for n, m in self.motors.items())
            raise DeviceError(
                f"wrong servo ids on {self.port}: expected {expected}; found ids "
                f"{' '.join(map(str, present)) or 'none'}; missing "
                f"{', '.join(f'{n} (id {self.motors[n].id})' for n in missing)}: check the cables "
                "between servos and that each servo's id was set up"
            )
        for name, model in found.items():
            expected_model = MODEL_NUMBERS[self.motors[name].model]
            if model != expected_model:
                raise DeviceError(
                    f"servo {name} (id {self.motors[name].id}) on {self.port} is model {model}, "
                    f"expected {self.motors[name].model.upper()} ({expected_model})"
                )

    def disconnect(self, disable_torque: bool = True) -> None:
        """Optionally cut torque, then always close the port. Servos that do not confirm are
        asked again for up to TORQUE_OFF_GRACE_S; any still unconfirmed are named in
        `torque_left_on` (and logged), for the session to tell the user."""
        self.torque_left_on = None
        if not self.is_connected:
            return
        try:
            if disable_torque:
                self._torque_off_within(TORQUE_OFF_GRACE_S)
        except DeviceError as error:
            self.torque_left_on = str(error)
            log.warning("%s", error)
        finally:
            with self._lock:
                self._port.is_using = False
                try:
                    self._port.closePort()
                except PORT_ERRORS:
                    self._port.is_open = False

    def _torque_off_within(self, grace_s: float) -> None:
        deadline = time.monotonic() + grace_s
        motors = None
        while True:
            try:
                self.disable_torque(motors, num_retry=5)
                return
            except TorqueStillOn as error:
                if time.monotonic() >= deadline or not self.is_connected:
                    raise
                motors = error.motors
                time.sleep(0.1)

    # ---- discovery -----------------------------------------------------------------------

    def ping(self, servo_id: int, num_retry: int | None = None) -> int | None:
        """The model number of servo `servo_id`, or None if it does not answer."""
        for _ in range(1 + self._retries(num_retry)):
            with self._lock:
                self._before_transaction()
                try:
                    model, comm, _ = self._guard(lambda: self._packets.ping(self._port, servo_id))
                except IndexError:  # the SDK read a late, shorter answer as the model number
                    continue
            if comm == scs.COMM_SUCCESS:
                return model
        return None

    def scan(self, timeout_s: float = 0.25) -> dict[int, int]:
        """Every servo on the bus (one broadcast ping): id → model number."""
        with self._lock:
            self._before_transaction()
            packet = [0xFF, 0xFF, BROADCAST_ID, 2, scs.INST_PING, 0]
            self._guard(lambda: self._packets.txPacket(self._port, packet))
            self._port.is_using = False
            data = self._guard(lambda: self._read_until_idle(timeout_s))
        ids = []
        while len(data) >= 6:
            if data[0] == 0xFF and data[1] == 0xFF and (~sum(data[2:5]) & 0xFF) == data[5]:
                ids.append(data[2])
                data = data[6:]
            else:
                data = data[1:]
        models = {}
        for servo_id in sorted(set(ids)):
            try:
                models[servo_id] = self._read(servo_id, *CONTROL_TABLE["Model_Number"], 0, False)
            except DeviceError:
                continue
        return models

    def _read_until_idle(self, timeout_s: float, idle_s: float = 0.03) -> list[int]:
        data: list[int] = []
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline and (last is None or time.monotonic() - last < idle_s):
            chunk = self._port.readPort(256)
            if chunk:
                data.extend(chunk)
                last = time.monotonic()
            else:
                time.sleep(0.0005)
        return data

    # ---- one register, one servo ---------------------------------------------------------

    def read(
        self, register: str, motor: str, *, normalize: bool = True, num_retry: int | None = None
    ) -> int | float:
        address, size = CONTROL_TABLE[register]
        raw = self._read(self.motors[motor].id, address, size, self._retries(num_retry), True)
        value = _decode(register, raw)
        return self.normalize(motor, value) if normalize and register in NORMALIZED else value

    def write(
        self,
        register: str,
        motor: str,
        value: float,
        *,
        normalize: bool = True,
        num_retry: int | None = None,
    ) -> None:
        """Write and wait for the servo's status packet (for configuration)."""
        self._write(motor, register, value, normalize, self._retries(num_retry), check_errors=True)

    def _write(
        self,
        motor: str,
        register: str,
        value: float,
        norm: bool,
        num_retry: int,
        check_errors: bool,
    ) -> None:
        address, size = CONTROL_TABLE[register]
        if norm and register in NORMALIZED:
            value = self.unnormalize(motor, value)
        raw = _encode(register, int(value), size)
        servo_id = self.motors[motor].id
        data = _bytes(raw, size)

        def attempt():
            comm, error = self._packets.writeTxRx(self._port, servo_id, address, size, data)
            return error, comm

        error = self._transact(attempt, servo_id, num_retry, f"writing {register}")
        if check_errors and error:
            raise self._fault(servo_id, error, f"writing {register}")

    def _read(self, servo_id: int, address: int, size: int, num_retry: int, check: bool) -> int:
        def attempt():
            data, comm, error = self._packets.readTxRx(self._port, servo_id, address, size)
            if comm == scs.COMM_SUCCESS and len(data) < size:
                comm = scs.COMM_RX_CORRUPT  # a late answer to an earlier question
            return (data, error), comm

        data, error = self._transact(attempt, servo_id, num_retry, f"reading address {address}")
        if check and error:
            raise self._fault(servo_id, error, f"reading address {address}")
        return _value(data, 0, size)

    # ---- all servos at once --------------------------------------------------------------

    def sync_read(
        self,
        register: str,
        motors: Iterable[str] | None = None,
        *,
        normalize: bool = True,
        num_retry: int | None = None,
    ) -> dict[str, int | float]:
        names = list(self.motors if motors is None else motors)
        address, size = CONTROL_TABLE[register]
        blocks = self._sync_read(names, address, size, self._retries(num_retry))
        values = {name: _decode(register, _value(blocks[name], 0, size)) for name in names}
        if normalize and register in NORMALIZED:
            return {name: self.normalize(name, value) for name, value in values.items()}
        return dict(values.items())

    def read_state(
        self, motors: Iterable[str] | None = None, num_retry: int | None = None
    ) -> dict[str, ServoState]:
        """Position … current of every servo, in one sync read of registers 56..70."""
        names = list(self.motors if motors is None else motors)
        blocks = self._sync_read(names, *STATE_BLOCK, self._retries(num_retry))
        return {name: _state(block) for name, block in blocks.items()}

    def sync_write(
        self, register: str, values: dict[str, float] | float, *, normalize: bool = True
    ) -> None:
        """One SYNC_WRITE packet for all servos; no status packets (lost packets go unnoticed)."""
        if not isinstance(values, dict):
            values = dict.fromkeys(self.motors, values)
        address, size = CONTROL_TABLE[register]
        ids = tuple(self.motors[name].id for name in values)
        writer = self._writers.get((address, size, ids))
        if writer is None:
            writer = scs.GroupSyncWrite(self._port, self._packets, address, size)
            self._writers[(address, size, ids)] = writer
        for name, value in values.items():
            if normalize and register in NORMALIZED:
                value = self.unnormalize(name, value)
            data = _bytes(_encode(register, int(value), size), size)
            servo_id = self.motors[name].id
            if not writer.changeParam(servo_id, data):
                writer.addParam(servo_id, data)
        with self._lock:
            self._before_transaction()
            comm = self._guard(writer.txPacket)
        if comm != scs.COMM_SUCCESS:
            raise DeviceError(f"could not send {register} on {self.port}: {_comm_text(comm)}")

    def broadcast_write(self, register: str, value: int) -> None:
        """One WRITE that every servo obeys at once (broadcast id; servos do not answer)."""
        address, size = CONTROL_TABLE[register]
        data = _bytes(_encode(register, int(value), size), size)
        with self._lock:
            self._before_transaction()
            comm = self._guard(
                lambda: self._packets.writeTxOnly(self._port, BROADCAST_ID, address, size, data)
            )
        if comm != scs.COMM_SUCCESS:
            raise DeviceError(f"could not send {register} on {self.port}: {_comm_text(comm)}")

    def _sync_read(
        self, names: list[str], address: int, size: int, num_retry: int
    ) -> dict[str, list[int]]:
        ids = tuple(self.motors[name].id for name in names)
        reader = self._readers.get((address, size, ids))
        if reader is None:
            reader = scs.GroupSyncRead(self._port, self._packets, address, size)
            for servo_id in ids:
                reader.addParam(servo_id)
            self._readers[(address, size, ids)] = reader
        failed_id, comm, failed_comm = ids[0], scs.COMM_SUCCESS, scs.COMM_SUCCESS
        started = time.monotonic()
        with self._lock:
            for attempt in range(1 + num_retry):
                self._before_transaction()
                if attempt:
                    log.debug("sync read retry %d on %s (id %d)", attempt, self.port, failed_id)
                comm = self._guard(reader.txPacket)
                if comm != scs.COMM_SUCCESS:
                    failed_comm = comm
                    continue
                blocks, errors = {}, {}
                for servo_id in ids:
                    data, comm, error = self._guard(
                        lambda sid=servo_id: self._packets.readRx(self._port, sid, size)
                    )
                    if comm == scs.COMM_SUCCESS and len(data) < size:
                        comm = scs.COMM_RX_CORRUPT  # a late answer to an earlier question
                    if comm != scs.COMM_SUCCESS:
                        failed_id, failed_comm = servo_id, comm
                        break
                    blocks[self._names[servo_id]] = data
                    if error:
                        errors[servo_id] = error
                else:
                    for servo_id, error in errors.items():
                        if error & ~VOLTAGE_ERROR:
                            raise self._fault(servo_id, error, "reading its state")
                        if servo_id not in self._voltage_warned:
                            self._voltage_warned.add(servo_id)
                            log.warning(
                                "%s reports its supply voltage out of range", self._who(servo_id)
                            )
                    if attempt:
                        self._note_recovery(failed_id, failed_comm, attempt, started, "a sync read")
                    return blocks
        raise self._lost(failed_id, comm, num_retry, "a sync read")

    # ---- torque --------------------------------------------------------------------------

    def enable_torque(self, motors: Iterable[str] | None = None, num_retry: int = 0) -> None:
        for name in self.motors if motors is None else motors:
            self._write(name, "Torque_Enable", 1, False, num_retry, check_errors=True)
            self._write(name, "Lock", 1, False, num_retry, check_errors=True)

    def disable_torque(self, motors: Iterable[str] | None = None, num_retry: int = 0) -> None:
        """Torque off and EEPROM unlocked, servo by servo; tries every servo even if one fails,
        then raises TorqueStillOn naming the ones that did not confirm."""
        failed = []
        for name in self.motors if motors is None else motors:
            try:
                self._write(name, "Torque_Enable", 0, False, num_retry, check_errors=False)
                self._write(name, "Lock", 0, False, num_retry, check_errors=False)
            except DeviceError as error:
                log.debug("torque off on %s: %s", name, error)
                failed.append(name)
        if failed:
            raise TorqueStillOn(
                f"torque may still be on for {self._named(failed)}: switch the arm's power off",
                failed,
            )

    def _named(self, motors: list[str]) -> str:
        return ", ".join(f"{m} (id {self.motors[m].id})" for m in motors)

    # ---- calibration ---------------------------------------------------------------------

    def normalize(self, motor: str, raw: int) -> float:
        return normalize(raw, *self._scale(motor))

    def unnormalize(self, motor: str, value: float) -> int:
        return unnormalize(value, *self._scale(motor))

    def position_range(self, motor: str) -> tuple[float, float]:
        """The calibration's range_min..range_max in the motor's units, low first."""
        cal, mode, resolution = self._scale(motor)
        ends = (normalize(cal.range_min, cal, mode, resolution),
                normalize(cal.range_max, cal, mode, resolution))  # fmt: skip
        return min(ends), max(ends)

    def _scale(self, motor: str) -> tuple:
        """What turns a motor's raw steps into its units and back: calibration, mode, steps."""
        m = self.motors[motor]
        return self._calibration(motor), m.norm_mode, RESOLUTION[m.model]

    def _calibration(self, motor: str) -> MotorCalibration:
        try:
            return self.calibration[motor]
        except KeyError:
            raise DeviceError(
                f"servo {motor} on {self.port} has no calibration: run `lerecord calibrate`"
            ) from None

    def read_calibration(self) -> Calibration:
        """Homing offset and position limits as the servos hold them (drive_mode 0, as lerobot)."""
        return {
            name: MotorCalibration(
                id=motor.id,
                drive_mode=0,
                homing_offset=int(self.read("Homing_Offset", name, normalize=False)),
                range_min=int(self.read("Min_Position_Limit", name, normalize=False)),
                range_max=int(self.read("Max_Position_Limit", name, normalize=False)),
            )
            for name, motor in self.motors.items()
        }

    def write_calibration(self, calibration: Calibration) -> None:
        """Write offsets and limits (torque must be off: EEPROM) and keep them for normalising."""
        for name, cal in calibration.items():
            self.write("Homing_Offset", name, cal.homing_offset, normalize=False)
            self.write("Min_Position_Limit", name, cal.range_min, normalize=False)
            self.write("Max_Position_Limit", name, cal.range_max, normalize=False)
        self.calibration = dict(calibration)

    def calibration_matches(self, calibration: Calibration) -> bool:
        """lerobot's `is_calibrated`: same motors, offsets and limits in the file and the servos."""
        held = self.read_calibration()
        return set(held) == set(calibration) and all(
            (c.homing_offset, c.range_min, c.range_max)
            == (held[n].homing_offset, held[n].range_min, held[n].range_max)
            for n, c in calibration.items()
        )

    # ---- plumbing ------------------------------------------------------------------------

    def _retries(self, num_retry: int | None) -> int:
        return self.num_retry if num_retry is None else num_retry

    def _before_transaction(self) -> None:
        """Forget the bytes of a failed exchange so they cannot be read as the next answer."""
        self._port.is_using = False
        if not self._port.is_open:
            raise DeviceError(f"bus {self.port} is not connected: call connect() first")
        self._guard(self._port.ser.reset_input_buffer)

    def _guard(self, call):
        try:
            return call()
        except PORT_ERRORS as error:
            self._port.is_using = False
            raise DeviceError(
                f"lost the servo bus on {self.port} ({error}): check the USB cable, then reconnect"
            ) from None

    def _transact(self, attempt, servo_id: int, num_retry: int, what: str):
        """Run `attempt() -> (result, comm)` up to 1 + num_retry times; return its result."""
        comm, started = scs.COMM_SUCCESS, time.monotonic()
        with self._lock:
            for n in range(1 + num_retry):
                self._before_transaction()
                failed = comm
                result, comm = self._guard(attempt)
                if comm == scs.COMM_SUCCESS:
                    if n:
                        self._note_recovery(servo_id, failed, n, started, what)
                    return result
                log.debug("%s on id %d failed (try %d): %s", what, servo_id, n, _comm_text(comm))
        raise self._lost(servo_id, comm, num_retry, what)

    def _note_recovery(
        self, servo_id: int, comm: int, tries: int, started: float, what: str
    ) -> None:
        problem = "sent corrupt replies" if comm == scs.COMM_RX_CORRUPT else "did not answer"
        text = (
            f"{self._who(servo_id)} on {self.port} {problem} for "
            f"{(time.monotonic() - started) * 1e3:.0f} ms ({what}); answered on try {tries + 1}"
        )
        log.info("%s", text)
        self._recovered.append(text)

    def take_recoveries(self) -> list[str]:
        """The failed exchanges a retry recovered since the last call, in words (oldest first;
        the last `RECOVERED_KEPT` are kept)."""
        taken = []
        while self._recovered:
            taken.append(self._recovered.popleft())
        return taken

    def _who(self, servo_id: int) -> str:
        name = self._names.get(servo_id)
        return f"servo {name} (id {servo_id})" if name else f"servo id {servo_id}"

    def _lost(self, servo_id: int, comm: int, num_retry: int, what: str) -> DeviceError:
        problem = "sent corrupt replies" if comm == scs.COMM_RX_CORRUPT else "did not answer"
        return DeviceError(
            f"{self._who(servo_id)} on {self.port} {problem} ({what}, {1 + num_retry} tries): "
            "check its cable and the servo power supply"
        )

    def _fault(self, servo_id: int, error: int, what: str) -> ServoFault:
        return ServoFault(
            f"{self._who(servo_id)} on {self.port} reports {describe_error(error)} ({what}): "
            "let it cool down / free the joint, then power-cycle the arm",
            self._names.get(servo_id, str(servo_id)),
            servo_id,
            error,
        )


def _encode(register: str, value: int, size: int) -> int:
    if register in SIGN_BITS:
        value = encode_sign_magnitude(value, SIGN_BITS[register])
    if not 0 <= value < 1 << (8 * size):
        raise ValueError(f"{register}: {value} does not fit {size} byte(s)")
    return value


def _decode(register: str, raw: int) -> int:
    return decode_sign_magnitude(raw, SIGN_BITS[register]) if register in SIGN_BITS else raw


def _state(block: list[int]) -> ServoState:
    # offsets within the block starting at Present_Position (56)
    return ServoState(
        position=decode_sign_magnitude(block[0] | block[1] << 8, 15),
        velocity=decode_sign_magnitude(block[2] | block[3] << 8, 15),
        load=decode_sign_magnitude(block[4] | block[5] << 8, 10) * LOAD_PERCENT_PER_UNIT,
        voltage=block[6] * VOLT_PER_UNIT,
        temperature=float(block[7]),
        status=block[9],
        moving=bool(block[10]),
        current=(decode_sign_magnitude(block[13] | block[14] << 8, 15)) * MILLIAMP_PER_UNIT,
    )


def _comm_text(comm: int) -> str:
    return scs.PacketHandler(0).getTxRxResult(comm).replace("[TxRxResult] ", "") or str(comm)
