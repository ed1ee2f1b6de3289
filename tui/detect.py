"""What the wizard offers: serial ports with the servo ids that answered, and cameras with a
picture from each, as `lerecord find-port` / `find-cameras` find them.

Detection opens devices, so it runs in a worker thread; tests pass a fixed `Detected` instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from core.messages import CameraThumb
from core.telemetry import thumbnail

log = logging.getLogger(__name__)
THUMB_WIDTH = 64


@dataclass(frozen=True)
class Detected:
    ports: tuple[tuple[str, str], ...] = ()  # (path, what answered there)
    cameras: tuple[tuple[str, str], ...] = ()  # (source for the cameras field, label)
    pictures: dict[str, CameraThumb] = field(default_factory=dict)  # source -> picture


def detect() -> Detected:
    return Detected(ports=tuple(_ports()), **_cameras())


def _ports() -> list[tuple[str, str]]:
    from hardware.feetech.discovery import find_servo_ports

    try:
        found = find_servo_ports()
    except Exception as error:  # noqa: BLE001 - detection is a help, never a blocker
        log.warning("servo port detection failed: %s", error)
        return []
    out = []
    for port in found:
        if port.servo_ids:
            out.append((port.path, f"servo ids {', '.join(map(str, port.servo_ids))}"))
        else:
            out.append((port.path, port.problem or "no servo answered"))
    return out


def _cameras() -> dict:
    from hardware.cameras.discovery import find_cameras, grab_frame

    cameras, pictures = [], {}
    try:
        found = find_cameras("opencv")
    except Exception as error:  # noqa: BLE001
        log.warning("camera detection failed: %s", error)
        found = []
    try:
        sim = find_cameras("sim")
        if sim:
            image = grab_frame(sim[0], warmup_s=0.0).image
            pictures["sim"] = thumbnail("sim", image, width=THUMB_WIDTH)
    except Exception as error:  # noqa: BLE001
        log.warning("no picture from the sim camera: %s", error)
    for info in found:
        source = str(info.index_or_path)
        cameras.append((source, f"{info.label} {info.width}x{info.height} @ {info.fps:.0f} fps"))
        try:
            pictures[source] = thumbnail(
                source, grab_frame(info, warmup_s=0.3).image, width=THUMB_WIDTH
            )
        except Exception as error:  # noqa: BLE001
            log.warning("no picture from camera %s: %s", source, error)
    return {"cameras": tuple(cameras), "pictures": pictures}
