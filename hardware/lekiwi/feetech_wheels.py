"""LeKiwi's wheel motors on the Feetech bus: STS3215 ids 7, 8, 9 in velocity mode.

The wheels share the serial port with the arm. They get their own `FeetechBus` on that port
(the arm's follower owns the other), so both must be driven from one thread — the LeKiwi host
loop, or the session's control thread — never concurrently.
"""

from __future__ import annotations

from hardware.feetech.bus import FeetechBus, Motor
from hardware.feetech.calibration import NormMode
from hardware.lekiwi.wheels import WHEEL_IDS, WHEELS, Wheels

VELOCITY_MODE = 1


class FeetechWheels(Wheels):
    def __init__(self, port: str):
        self.bus = FeetechBus(
            port,
            {
                name: Motor(i, NormMode.RANGE_M100_100)
                for name, i in zip(WHEELS, WHEEL_IDS, strict=True)
            },
        )

    def connect(self) -> None:
        self.bus.connect()
        self.bus.disable_torque()
        for name in WHEELS:
            self.bus.write("Operating_Mode", name, VELOCITY_MODE, normalize=False)
        self.bus.enable_torque()
        self.stop()

    def set_speeds(self, raw: tuple[int, int, int]) -> None:
        self.bus.sync_write("Goal_Velocity", dict(zip(WHEELS, raw, strict=True)), normalize=False)

    def speeds(self) -> tuple[int, int, int]:
        values = self.bus.sync_read("Present_Velocity", WHEELS, normalize=False)
        return tuple(int(values[name]) for name in WHEELS)  # type: ignore[return-value]

    def disconnect(self) -> None:
        if self.bus.is_connected:
            try:
                self.stop()
            finally:
                self.bus.disconnect(disable_torque=True)
