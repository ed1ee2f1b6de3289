"""What the wizard offers: serial ports with servo buses, and cameras, as the finders report them.

Uses the finders of `lerecord find-port` / `find-cameras` when they are installed; otherwise
lists the serial ports pyserial sees (servo ids unknown).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def detected_ports() -> list[tuple[str, str]]:
    """(port, description of the servos found) for each candidate serial port."""
    try:
        from core.commands.find_port import find_servo_ports
    except ImportError:
        return _serial_ports()
    try:
        found = find_servo_ports()
    except Exception as error:  # noqa: BLE001 - detection is a help, never a blocker
        log.warning("servo port detection failed: %s", error)
        return _serial_ports()
    return [(str(getattr(p, "port", p)), _ids(p)) for p in found]


def _ids(found) -> str:
    ids = getattr(found, "ids", None) or getattr(found, "servo_ids", None)
    return f"servo ids {', '.join(map(str, ids))}" if ids else ""


def _serial_ports() -> list[tuple[str, str]]:
    try:
        from serial.tools import list_ports
    except ImportError:
        return []
    return [(p.device, p.description or "") for p in list_ports.comports()]


def detected_cameras() -> list[str]:
    """One line per camera the camera finder reports (empty when it is not installed)."""
    try:
        from core.commands.find_cameras import find_cameras
    except ImportError:
        return []
    try:
        return [str(c) for c in find_cameras()]
    except Exception as error:  # noqa: BLE001
        log.warning("camera detection failed: %s", error)
        return []
