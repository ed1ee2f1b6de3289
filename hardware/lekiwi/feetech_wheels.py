"""LeKiwi's wheel motors on the Feetech bus: STS3215 ids 7, 8, 9 in velocity mode.

The wheels share the serial port with the arm, and a port opens once: the wheels' `FeetechBus`
is a view of the arm's open bus (same port handle, same lock), so arm and wheel transactions
never interleave, whichever thread sends them.
"""

from __future__ import annotations

from hardware.errors import DeviceError
from hardware.feetech.bus import FeetechBus, Motor
from hardware.feetech.calibration import NormMode
from hardware.lekiwi.wheels import WHEEL_IDS, WHEELS, Wheels

VELOCITY_MODE = 1


def _sharing(arm_bus: FeetechBus, motors: dict[str, Motor]) -> FeetechBus:
    """A bus for `motors` on the arm bus's open port."""
    bus = FeetechBus(arm_bus.port, motors, num_retry=arm_bus.num_retry)
    bus._port, bus._packets, bus._lock = arm_bus._port, arm_bus._packets, arm_bus._lock
    return bus


class FeetechWheels(Wheels):
    def __init__(self, arm_bus: FeetechBus):
        motors = {
            n: Motor(i, NormMode.RANGE_M100_100) for n, i in zip(WHEELS, WHEEL_IDS, strict=True)
        }
        self.bus = _sharing(arm_bus, motors)

    def connect(self) -> None:
        """Put the wheels in velocity mode, stopped, torque on (the port is the arm's, open)."""
        for name in WHEELS:
            if self.bus.ping(self.bus.motors[name].id, num_retry=1) is None:
                _raise_missing(self.bus, name)
        self.bus.disable_torque()
        for name in WHEELS:
            self.bus.write("Operating_Mode", name, VELOCITY_MODE, normalize=False)
        self.stop()
        self.bus.enable_torque()

    def set_speeds(self, raw: tuple[int, int, int]) -> None:
        self.bus.sync_write("Goal_Velocity", dict(zip(WHEELS, raw, strict=True)), normalize=False)

    def speeds(self) -> tuple[int, int, int]:
        values = self.bus.sync_read("Present_Velocity", WHEELS, normalize=False)
        return tuple(int(values[name]) for name in WHEELS)  # type: ignore[return-value]

    def disconnect(self) -> None:
        """Stop and let the wheels turn freely; the arm closes the port."""
        if self.bus.is_connected:
            try:
                self.stop()
            finally:
                self.bus.disable_torque(num_retry=5)


def _raise_missing(bus: FeetechBus, name: str) -> None:
    raise DeviceError(
        f"LeKiwi wheel {name} (id {bus.motors[name].id}) does not answer on {bus.port}: check "
        "the base's cables and that the wheel servos' ids were set up (7, 8, 9)"
    )
