"""The SO-100 / SO-101 leader arm, as lerobot's `SOLeader` (name "so_leader"): torque off, the
user moves it by hand, `get_action()` is one sync read of the six positions (normalised).

With `port = "sim"` the emulated leader moves by itself through a pick-and-place motion.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

from hardware.base import Features, Teleoperator, TeleoperatorConfig
from hardware.errors import ConfigError, DeviceError
from hardware.feetech.bus import FeetechBus
from hardware.feetech.tables import POSITION_MODE
from hardware.option import option
from hardware.so_arm.arm import ArmLink

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class So100LeaderConfig(TeleoperatorConfig):
    """lerobot's SOLeaderConfig fields and defaults (0.6.1)."""

    type: ClassVar[str] = "so100_leader"
    port: str = option(
        help="serial port of the leader arm's servo bus ('sim': an emulated arm)",
        example="/dev/ttyACM1",
    )
    use_degrees: bool = option(True, help="joint positions in degrees (else -100..100)")
    num_read_retries: int = option(2, help="retries of a failed bus read before a fault")

    def __post_init__(self) -> None:
        if not self.port:
            raise ConfigError("--teleop.port: missing; give the leader arm's serial port, or `sim`")


@dataclass(kw_only=True)
class So101LeaderConfig(So100LeaderConfig):
    type: ClassVar[str] = "so101_leader"


class SoLeader(Teleoperator):
    """Public: `bus` (once connected), `link` (port, emulator, calibration file),
    `calibration_steps()` for `lerecord calibrate`."""

    name: ClassVar[str] = "so_leader"
    config: So100LeaderConfig

    def __init__(self, config: So100LeaderConfig):
        super().__init__(config)
        self.link = ArmLink.for_so_arm(config, kind="teleoperators", name=self.name)

    @property
    def action_features(self) -> Features:
        return {f"{m}.pos": float for m in self.link.motors}

    @property
    def bus(self) -> FeetechBus | None:
        return self.link.bus

    @property
    def is_connected(self) -> bool:
        return self.bus is not None and self.bus.is_connected

    def check_files(self) -> None:
        self.link.check_calibration()

    def connect(self, calibrate: bool = True) -> None:
        """Open the bus (or its emulator), check the calibration, torque off, position mode."""
        bus = self.link.open(calibrate)
        try:
            bus.disable_torque()
            for motor in bus.motors:
                bus.write("Operating_Mode", motor, POSITION_MODE)
        except BaseException:
            self.disconnect()
            raise
        log.info("%s connected on %s", self.config.type, bus.port)

    def calibration_steps(self):
        """The step-by-step calibration (see hardware.feetech.procedure.ArmCalibration)."""
        return self.link.calibration_steps()

    def get_action(self) -> dict[str, float]:
        if self.bus is None or not self.bus.is_connected:
            raise DeviceError(f"{self.config.type} is not connected: call connect() first")
        return {f"{m}.pos": v for m, v in self.bus.sync_read("Present_Position").items()}

    def disconnect(self) -> None:
        self.link.close(disable_torque=True)
