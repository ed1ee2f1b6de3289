"""lerobot's arm calibration as steps a user interface drives (terminal, console app):

    steps = ArmCalibration(bus, path)  # or a CalibrationFile: where and in which layout
    steps.start()            # torque off, position mode
    steps.set_middle()       # "move the arm to the middle of its range, then press ENTER"
    while not done:
        rows = steps.sample()    # ~50 Hz: {motor: RangeSample(min, pos, max)} for a live table
    steps.finish()           # writes offsets + limits to the servos and the JSON file

Half-turn homing, range recording, the full-turn wrist_roll and the file are lerobot's, so a
file written here works in lerobot and the other way round. `use_existing()` is lerobot's
"press ENTER to use the calibration file": it writes the file's values to the servos.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hardware.errors import ConfigError, DeviceError
from hardware.feetech.bus import FeetechBus
from hardware.feetech.calibration import Calibration, CalibrationFile, MotorCalibration
from hardware.feetech.tables import POSITION_MODE, RESOLUTION


@dataclass(frozen=True)
class RangeSample:
    min: int
    pos: int
    max: int


class ArmCalibration:
    def __init__(
        self,
        bus: FeetechBus,
        file: CalibrationFile | Path,
        full_turn_motors: tuple[str, ...] = ("wrist_roll",),
    ):
        self.bus = bus
        self.file = file if isinstance(file, CalibrationFile) else CalibrationFile(file)
        self.path = self.file.path
        self.full_turn_motors = tuple(m for m in full_turn_motors if m in bus.motors)
        self.homing_offsets: dict[str, int] = {}
        self._mins: dict[str, int] = {}
        self._maxes: dict[str, int] = {}

    @property
    def existing(self) -> Calibration | None:
        return self.file.load() if self.file.exists() else None

    def use_existing(self) -> Calibration:
        """Write the calibration file's values to the servos."""
        calibration = self.existing
        if calibration is None:
            raise DeviceError(f"no calibration file {self.path}")
        self.bus.disable_torque()
        self.bus.write_calibration(calibration)
        return calibration

    def start(self) -> None:
        self.bus.disable_torque()
        for motor in self.bus.motors:
            self.bus.write("Operating_Mode", motor, POSITION_MODE, normalize=False)

    def set_middle(self) -> dict[str, int]:
        """Half-turn homing: the present pose becomes the middle (2047) of every servo."""
        for motor in self.bus.motors:
            self.bus.write("Homing_Offset", motor, 0, normalize=False)
            self.bus.write("Min_Position_Limit", motor, 0, normalize=False)
            self.bus.write("Max_Position_Limit", motor, self._max_raw(motor), normalize=False)
        raw = self.bus.sync_read("Present_Position", normalize=False)
        self.homing_offsets = {m: int(p) - int(self._max_raw(m) / 2) for m, p in raw.items()}
        for motor, offset in self.homing_offsets.items():
            self.bus.write("Homing_Offset", motor, offset, normalize=False)
        start = self._positions()
        self._mins, self._maxes = dict(start), dict(start)
        return dict(self.homing_offsets)

    def sample(self) -> dict[str, RangeSample]:
        """Read the joints once and widen the recorded ranges (call it ~50 times a second)."""
        if not self.homing_offsets:
            raise DeviceError("calibration: set the middle position first")
        positions = self._positions()
        for motor, pos in positions.items():
            self._mins[motor] = min(self._mins[motor], pos)
            self._maxes[motor] = max(self._maxes[motor], pos)
        return {m: RangeSample(self._mins[m], p, self._maxes[m]) for m, p in positions.items()}

    def finish(self) -> Calibration:
        """Check the ranges, write offsets and limits to the servos, save the file."""
        if not self.homing_offsets:
            raise DeviceError("calibration: set the middle position first")
        still = [m for m in self._mins if self._mins[m] == self._maxes[m]]
        if still:
            raise ConfigError(
                f"calibration: {', '.join(still)} did not move (min equals max): move every joint "
                "through its whole range before finishing"
            )
        calibration = {}
        for motor, spec in self.bus.motors.items():
            full_turn = motor in self.full_turn_motors
            calibration[motor] = MotorCalibration(
                id=spec.id,
                drive_mode=0,
                homing_offset=self.homing_offsets[motor],
                range_min=0 if full_turn else self._mins[motor],
                range_max=self._max_raw(motor) if full_turn else self._maxes[motor],
            )
        self.bus.write_calibration(calibration)
        self.file.save(calibration)
        return calibration

    def _positions(self) -> dict[str, int]:
        ranged = [m for m in self.bus.motors if m not in self.full_turn_motors]
        return {
            m: int(v)
            for m, v in self.bus.sync_read("Present_Position", ranged, normalize=False).items()
        }

    def _max_raw(self, motor: str) -> int:
        return RESOLUTION[self.bus.motors[motor].model] - 1
