"""One emulated STS3215 servo: its register map, its motion and its faults.

The physical state is the encoder angle `actual` (0..4096 steps around the circle). The servo
reports `Present_Position = (actual - Homing_Offset) mod 4096` and, with torque on in position
mode, drives that reading towards `Goal_Position` (clamped to the position limits) with a
trapezoidal speed profile: at most `Goal_Velocity` (or 3000 steps/s) and `Acceleration` × 100
steps/s² (254 → 25400). Load grows with tracking error, acceleration, speed and gravity; current
follows load; temperature rises towards a load-dependent equilibrium and, above
`Max_Temperature_Limit`, the servo sets its overheat bit and cuts torque, as the real one does.

With torque off, a `hand` (a function of time returning `actual`) may move it: that is how the
simulated leader arm moves by itself. EEPROM registers (address < 40) ignore writes while
`Lock` is 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from hardware.feetech.tables import (
    CONTROL_TABLE,
    EEPROM_END,
    POSITION_MODE,
    READ_ONLY,
    VELOCITY_MODE,
    decode_sign_magnitude,
    encode_sign_magnitude,
)

MAX_SPEED = 3000.0  # steps/s at 12 V (≈ 0.2 s / 60°)
MAX_ACCELERATION = 50_000.0  # steps/s² when Acceleration is 0
AMBIENT_C = 25.0
HEAT_TIME_CONSTANT_S = 90.0
MAX_STEP_S = 0.005

OVERHEAT, OVERLOAD = 0x04, 0x20

FACTORY_DEFAULTS = {
    "Firmware_Major_Version": 3,
    "Firmware_Minor_Version": 10,
    "Model_Number": 777,
    "Baud_Rate": 0,
    "Return_Delay_Time": 250,
    "Response_Status_Level": 1,
    "Min_Position_Limit": 0,
    "Max_Position_Limit": 4095,
    "Max_Temperature_Limit": 70,
    "Max_Voltage_Limit": 140,
    "Min_Voltage_Limit": 40,
    "Max_Torque_Limit": 1000,
    "Phase": 0x1C,
    "Unloading_Condition": 44,
    "LED_Alarm_Condition": 47,
    "P_Coefficient": 32,
    "D_Coefficient": 32,
    "I_Coefficient": 0,
    "Minimum_Startup_Force": 16,
    "CW_Dead_Zone": 1,
    "CCW_Dead_Zone": 1,
    "Protection_Current": 500,
    "Angular_Resolution": 1,
    "Operating_Mode": 0,
    "Protective_Torque": 20,
    "Protection_Time": 200,
    "Overload_Torque": 80,
    "Velocity_closed_loop_P_proportional_coefficient": 10,
    "Over_Current_Protection_Time": 200,
    "Velocity_closed_loop_I_integral_coefficient": 200,
    "Torque_Limit": 1000,
    "Lock": 1,
    "Moving_Velocity_Threshold": 2,
    "Maximum_Velocity_Limit": 0,
    "Maximum_Acceleration": 20,
}


def _addr(name: str) -> int:
    return CONTROL_TABLE[name][0]


class SimServo:
    """An STS3215 at `servo_id` whose encoder reads `actual` (steps) at the start."""

    def __init__(
        self,
        servo_id: int,
        actual: float = 2048.0,
        *,
        homing_offset: int = 0,
        range_min: int = 0,
        range_max: int = 4095,
        gravity_load: float = 0.0,
        supply_volts: float = 12.0,
    ):
        self.regs = bytearray(256)
        for name, value in FACTORY_DEFAULTS.items():
            self.set(name, value)
        self.set("ID", servo_id)
        self.set("Homing_Offset", encode_sign_magnitude(homing_offset, 11))
        self.set("Min_Position_Limit", range_min)
        self.set("Max_Position_Limit", range_max)
        self.actual = actual % 4096
        self.velocity = 0.0  # steps/s, present frame
        self.load = 0.0  # % of max torque, signed
        self.temperature = AMBIENT_C
        self.gravity_load = gravity_load
        self.supply_volts = supply_volts
        self.hand: Callable[[float], float] | None = None
        self.error = 0  # status bits set by protection or injected faults
        self.silent = False
        self.corrupt_replies = 0  # replies left to corrupt; -1 = all
        self.pending_write: tuple[int, bytes] | None = None  # REG_WRITE, applied on ACTION
        self._time: float | None = None
        self.set("Goal_Position", round(self.present))
        self._refresh()

    # ---- registers -----------------------------------------------------------------------

    @property
    def id(self) -> int:
        return self.regs[5]

    def get(self, name: str) -> int:
        address, size = CONTROL_TABLE[name]
        return int.from_bytes(self.regs[address : address + size], "little")

    def set(self, name: str, value: int) -> None:
        address, size = CONTROL_TABLE[name]
        self.regs[address : address + size] = int(value).to_bytes(size, "little")

    def read(self, address: int, length: int) -> bytes:
        return bytes(self.regs[address : address + length])

    def write(self, address: int, data: bytes) -> None:
        """A WRITE instruction: read-only and locked EEPROM bytes are left as they are."""
        torque_before = self.regs[40]
        locked = self.regs[55] != 0
        for i, byte in enumerate(data):
            a = address + i
            if a in READ_ONLY or a > 255 or (a < EEPROM_END and locked):
                continue
            self.regs[a] = byte
        if address <= 40 < address + len(data):
            if self.regs[40] and not torque_before:
                if self.error & (OVERHEAT | OVERLOAD):
                    self.regs[40] = 0  # protection: torque stays off until the fault clears
                else:
                    self.set("Goal_Position", round(self.present) % 4096)
            if not self.regs[40]:
                self.velocity = 0.0
        self._refresh()

    # ---- motion --------------------------------------------------------------------------

    @property
    def homing_offset(self) -> int:
        return decode_sign_magnitude(self.get("Homing_Offset"), 11)

    @property
    def present(self) -> float:
        return (self.actual - self.homing_offset) % 4096

    def advance(self, now: float) -> None:
        """Move the servo on to time `now` (seconds, monotonic)."""
        if self._time is None:
            self._time = now
        dt, self._time = now - self._time, now
        if dt <= 0:
            return
        hand_moves = self.hand is not None and self.regs[40] != 1
        steps = 1 if hand_moves else min(400, max(1, math.ceil(dt / MAX_STEP_S)))
        h = dt / steps
        for k in range(steps):
            self._step(h, now - dt + (k + 1) * h)
        self._refresh()

    def _step(self, h: float, t: float) -> None:
        torque = self.regs[40] == 1
        if not torque:
            if self.hand is not None:
                new = self.hand(t) % 4096
                delta = (new - self.actual + 2048) % 4096 - 2048
                self.velocity = delta / h
                self.actual = new
            else:
                self.velocity = 0.0
            self.load = 0.0
        elif self.regs[33] == VELOCITY_MODE:
            target = decode_sign_magnitude(self.get("Goal_Velocity"), 15)
            before = self.velocity
            self._accelerate(target, h)
            self.actual = (self.actual + self.velocity * h) % 4096
            accel = self.regs[41] * 100.0 or MAX_ACCELERATION
            self.load = self._effort(0.0, (self.velocity - before) / h / accel)
        elif self.regs[33] == POSITION_MODE:
            self._track(h)
        self._heat(h)

    def _accelerate(self, target_velocity: float, h: float) -> None:
        accel = self.regs[41] * 100.0 or MAX_ACCELERATION
        dv = max(-accel * h, min(accel * h, target_velocity - self.velocity))
        self.velocity += dv

    def _track(self, h: float) -> None:
        goal = decode_sign_magnitude(self.get("Goal_Position"), 15)
        lo, hi = self.get("Min_Position_Limit"), self.get("Max_Position_Limit")
        if lo < hi:
            goal = min(hi, max(lo, goal))
        accel = self.regs[41] * 100.0 or MAX_ACCELERATION
        speed = abs(decode_sign_magnitude(self.get("Goal_Velocity"), 15)) or MAX_SPEED
        position = self.present
        error = goal - position
        wanted = math.copysign(min(speed, math.sqrt(2 * accel * abs(error))), error)
        before = self.velocity
        self._accelerate(wanted, h)
        move = self.velocity * h
        if abs(move) >= abs(error) and move * error >= 0:
            move, self.velocity = error, 0.0
        self.actual = (self.actual + move) % 4096
        self.load = self._effort(goal - (position + move), (self.velocity - before) / h / accel)

    def _effort(self, error: float, accel_fraction: float) -> float:
        """Signed load in % of max torque, capped by Torque_Limit."""
        effort = 0.08 * error + 20.0 * accel_fraction + 0.004 * self.velocity + self.gravity_load
        cap = min(self.get("Torque_Limit"), self.get("Max_Torque_Limit")) / 10.0
        return max(-cap, min(cap, effort))

    def _heat(self, h: float) -> None:
        equilibrium = AMBIENT_C + 60.0 * (self.load / 100.0) ** 2
        self.temperature += (equilibrium - self.temperature) * -math.expm1(
            -h / HEAT_TIME_CONSTANT_S
        )
        if self.temperature >= self.regs[13] and not self.error & OVERHEAT:
            self.error |= OVERHEAT
            self.regs[40] = 0
        elif self.error & OVERHEAT and self.temperature < self.regs[13] - 5:
            self.error &= ~OVERHEAT  # cooled down

    @property
    def current_ma(self) -> float:
        return 30.0 * (abs(self.velocity) > 1) + 27.0 * abs(self.load)

    def _refresh(self) -> None:
        """Write the physical state into the Present_* registers."""
        self.set("Present_Position", round(self.present) % 4096)
        speed = round(max(-32767, min(32767, self.velocity)))
        self.set("Present_Velocity", encode_sign_magnitude(speed, 15))
        load = round(self.load * 10)
        self.set("Present_Load", encode_sign_magnitude(max(-1000, min(1000, load)), 10))
        amps = self.current_ma / 1000
        self.set("Present_Voltage", round((self.supply_volts - 0.25 * amps) * 10))
        self.set("Present_Temperature", round(self.temperature))
        self.set("Status", self.error)
        self.set("Moving", int(abs(self.velocity) > 10 * max(1, self.regs[80])))
        self.set("Present_Current", round(self.current_ma / 6.5))

    # ---- faults --------------------------------------------------------------------------

    def overheat(self) -> None:
        self.temperature = self.regs[13] + 5.0
        self.error |= OVERHEAT
        self.regs[40] = 0
        self._refresh()

    def overload(self) -> None:
        self.error |= OVERLOAD
        self.regs[40] = 0
        self._refresh()

    def clear_faults(self) -> None:
        self.error = 0
        self.silent = False
        self.corrupt_replies = 0
        self.temperature = min(self.temperature, AMBIENT_C + 10)
        self._refresh()
