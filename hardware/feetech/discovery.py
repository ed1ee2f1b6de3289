"""Finding servo buses: the serial ports here (pyserial's list, plus the device paths it may
miss) and, on each, the Feetech servo ids that answer a broadcast ping at 1 Mbps.

Used by `lerecord find-port` and the console's wizard.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass

from hardware.errors import DeviceError
from hardware.feetech.bus import FeetechBus

PATTERNS = (
    "/dev/ttyUSB*",
    "/dev/ttyACM*",
    "/dev/tty.usbmodem*",
    "/dev/tty.usbserial*",
    "/dev/cu.usbmodem*",
    "/dev/cu.usbserial*",
)


@dataclass(frozen=True)
class SerialPort:
    path: str
    description: str
    servo_ids: tuple[int, ...]  # ids that answered a broadcast ping at 1 Mbps
    problem: str = ""  # why the port could not be probed (busy, no permission …)

    @property
    def is_servo_bus(self) -> bool:
        return bool(self.servo_ids)


def candidate_ports(extra: list[str] | tuple[str, ...] = ()) -> dict[str, str]:
    """Serial port path → description."""
    from serial.tools import list_ports

    ports = {}
    for info in list_ports.comports():
        if info.device.startswith("/dev/ttyS") and info.description in ("n/a", ""):
            continue  # legacy on-board UART placeholders
        ports[info.device] = info.description if info.description != "n/a" else ""
    for pattern in PATTERNS:
        for path in sorted(glob.glob(pattern)):
            ports.setdefault(path, "")
    for path in extra:
        ports.setdefault(path, "given with --port")
    return ports


def find_servo_ports(extra: list[str] | tuple[str, ...] = ()) -> list[SerialPort]:
    """Every candidate port, probed with a broadcast ping (servo buses first)."""
    found = []
    for path, description in candidate_ports(extra).items():
        bus = FeetechBus(path, {})
        try:
            bus.connect(handshake=False)
            found.append(SerialPort(path, description, tuple(sorted(bus.scan()))))
        except DeviceError as error:
            found.append(SerialPort(path, description, (), str(error)))
        finally:
            bus.disconnect(disable_torque=False)
    return sorted(found, key=lambda p: (not p.is_servo_bus, p.path))
