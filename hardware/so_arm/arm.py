"""What SO-100/SO-101 followers and leaders share: the servos, the port (or its emulator) and
the calibration file.

Calibration on connect (lerobot's rules, minus the stdin prompt):
- the file `…/calibration/{robots/so_follower | teleoperators/so_leader}/<id>.json` exists and
  matches the servos' registers: it is used;
- it is missing or does not match: a `DeviceError` names the file and the `lerecord calibrate …`
  command that fixes it (with `calibrate=False` the check is skipped, as in lerobot);
- `port = "sim"`: an emulator is started for the arm (stopped on disconnect). Its servos leave
  the factory calibrated, so with no file the arm writes its file from the servos' registers; an
  existing file (e.g. from `lerecord calibrate --robot.port=sim`) is written to the servos, which
  is what lerobot does when the user presses ENTER. Nothing is asked on stdin. While a sim arm
  is calibrated, a simulated person moves it (the leader's pick-and-place motion), so
  `lerecord calibrate --robot.port=sim` works for followers too.
Files lerobot ≤ 0.4.2 wrote under the per-type folder (`robots/so101_follower/`) are read too.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hardware.errors import ConfigError, DeviceError
from hardware.feetech import calibration as files
from hardware.feetech.bus import FeetechBus, Motor
from hardware.feetech.calibration import CalibrationFile, NormMode
from hardware.feetech.procedure import ArmCalibration
from hardware.sim.process import EmulatorProcess

log = logging.getLogger(__name__)

MOTOR_IDS = {
    "shoulder_pan": 1,
    "shoulder_lift": 2,
    "elbow_flex": 3,
    "wrist_flex": 4,
    "wrist_roll": 5,
    "gripper": 6,
}
SIM_PORT = "sim"


def so_motors(use_degrees: bool) -> dict[str, Motor]:
    """lerobot's SO arm: body joints in degrees (or ±100), the gripper in 0..100."""
    body = NormMode.DEGREES if use_degrees else NormMode.RANGE_M100_100
    return {
        name: Motor(servo_id, NormMode.RANGE_0_100 if name == "gripper" else body)
        for name, servo_id in MOTOR_IDS.items()
    }


class ArmLink:
    """One arm's bus: opened by `open()`, calibrated, closed (with its emulator) by `close()`."""

    def __init__(
        self,
        device_type: str,
        port: str,
        device_id: str | None,
        *,
        kind: str,  # "robots" | "teleoperators"
        name: str,  # lerobot's name: "so_follower" | "so_leader"
        motors: dict[str, Motor],
        num_retry: int = 0,
        full_turn_motors: tuple[str, ...] = ("wrist_roll",),
        calibration_dir: Path | None = None,
    ):
        self.device_type = device_type
        self.port = port
        self.device_id = device_id
        self.kind = kind
        self.motors = motors
        self.num_retry = num_retry
        self.full_turn_motors = full_turn_motors  # calibrated to 0..4095 without range recording
        path = files.calibration_path(kind, name, str(device_id))
        legacy = files.calibration_path(kind, device_type, str(device_id))
        if calibration_dir is not None:  # `--robot.calibration_dir`: that folder, as lerobot
            path = legacy = Path(calibration_dir).expanduser() / f"{device_id}.json"
        self.calibration_file = CalibrationFile(path)
        self._legacy_file = CalibrationFile(legacy)
        self.bus: FeetechBus | None = None
        self.emulator: EmulatorProcess | None = None

    @classmethod
    def for_so_arm(cls, config, *, kind: str, name: str) -> ArmLink:
        """The link of an SO-100/101 follower or leader config (type, port, id, use_degrees,
        num_read_retries, calibration_dir)."""
        return cls(
            config.type,
            config.port,
            config.id,
            kind=kind,
            name=name,
            motors=so_motors(config.use_degrees),
            num_retry=config.num_read_retries,
            calibration_dir=config.calibration_dir,
        )

    def keep_calibration_in(self, file: CalibrationFile) -> None:
        """The arm's calibration lives in its device's file (LeKiwi's, in lerobot's layout); the
        arm's own file, as an older lerecord wrote it, is still read when that one is missing."""
        self._legacy_file = self.calibration_file
        self.calibration_file = file

    @property
    def is_sim(self) -> bool:
        return self.port == SIM_PORT

    @property
    def calibrate_command(self) -> str:
        group = "robot" if self.kind == "robots" else "teleop"
        return (
            f"lerecord calibrate --{group}.type={self.device_type} --{group}.port={self.port} "
            f"--{group}.id={self.device_id}"
        )

    def open(self, calibrate: bool = True) -> FeetechBus:
        """Start the emulator if `sim`, connect the bus, load and check the calibration."""
        path = self.port
        if self.is_sim:
            self.emulator = EmulatorProcess(self.device_type)
            path = self.emulator.start()
        self.bus = FeetechBus(path, self.motors, num_retry=self.num_retry)
        try:
            self.bus.connect()
            self._load_calibration(calibrate)
        except BaseException:
            self.close(disable_torque=False)
            raise
        return self.bus

    def check_calibration(self) -> tuple[Path, files.Calibration | None]:
        """The calibration file (lerobot's name, else the one lerobot <= 0.4.2 wrote) and what
        it holds, read and checked without touching the bus; ConfigError for a bad one."""
        file = self.calibration_file
        if not file.exists() and self._legacy_file.exists():
            file = self._legacy_file
        path = file.path
        calibration = file.load() if file.exists() else None
        if calibration is not None and set(calibration) != set(self.motors):
            raise ConfigError(
                f"calibration file {path} names motors {sorted(calibration)}, expected "
                f"{sorted(self.motors)}: run `{self.calibrate_command}`"
            )
        return path, calibration

    def _load_calibration(self, check: bool) -> None:
        path, calibration = self.check_calibration()
        if path != self.calibration_file.path:
            log.info("using the calibration file of an older layout: %s", path)
        if self.is_sim:
            if calibration is None:
                calibration = self.bus.read_calibration()
                if check:  # not while `lerecord calibrate` is about to write its own
                    self.calibration_file.save(calibration)
            elif not self.bus.calibration_matches(calibration):
                self.bus.disable_torque()
                self.bus.write_calibration(calibration)
            self.bus.calibration = calibration
            return
        if calibration is None:
            if check:
                raise DeviceError(
                    f"{self.device_type} {self.device_id!r} has no calibration file ({path}): "
                    f"run `{self.calibrate_command}`"
                )
            return
        if check and not self.bus.calibration_matches(calibration):
            raise DeviceError(
                f"the servos on {self.port} do not hold the calibration in {path}: run "
                f"`{self.calibrate_command}` (ENTER there writes the file to the servos)"
            )
        self.bus.calibration = calibration

    def calibration_steps(self) -> ArmCalibration:
        """The step-by-step calibration of this arm (connect with `calibrate=False` first)."""
        if self.bus is None or not self.bus.is_connected:
            raise DeviceError(f"{self.device_type} is not connected: connect it before calibrating")
        if self.emulator is not None:
            self.emulator.command("hand on")  # someone moves the simulated arm through its range
        return ArmCalibration(self.bus, self.calibration_file, self.full_turn_motors)

    def close(self, disable_torque: bool) -> None:
        """Leave torque off if asked (5 retries inside), close the port, stop the emulator."""
        try:
            if self.bus is not None:
                self.bus.disconnect(disable_torque=disable_torque)
        finally:
            if self.emulator is not None:
                self.emulator.stop()
                self.emulator = None

    def fault(self, command: str) -> str:
        """Inject a fault into this arm's emulator (`overheat 3`, `unplug` …); sim only."""
        if self.emulator is None:
            raise DeviceError(f"{self.device_type} on {self.port} is not simulated")
        return self.emulator.command(command)
