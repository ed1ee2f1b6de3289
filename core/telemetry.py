"""Turning one control step into the `Telemetry` snapshot the clients draw.

Runs on the control thread, so it stays cheap: camera thumbnails are only refreshed a few times a
second, everything else is a handful of small tuples.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from core.messages import CameraThumb, ServoRow

THUMB_WIDTH = 80
DEPTH_VIEW_MM = (200.0, 4000.0)  # a depth preview's colour scale: red at 0.2 m, blue from 4 m
TURBO_BLUE, TURBO_RED = 32, 224  # the turbo colour map's ends kept: its own are near black
TEMPERATURE_WARN_C = 55.0
TEMPERATURE_FAULT_C = 65.0
LOAD_WARN = 80.0  # % of max torque
VOLTAGE_LOW_V = 6.0


def servo_status(load: float | None, temperature: float | None, voltage: float | None) -> str:
    if temperature is not None and temperature >= TEMPERATURE_FAULT_C:
        return "fault"
    if (temperature is not None and temperature >= TEMPERATURE_WARN_C) or (
        load is not None and abs(load) >= LOAD_WARN
    ):
        return "warn"
    if voltage is not None and 0 < voltage < VOLTAGE_LOW_V:
        return "warn"
    return "ok"


def servo_rows(
    motors: list[str],
    observation: Mapping[str, float] | None,
    goals: Mapping[str, float] | None,
    limits: Mapping[str, tuple[float, float]] | None = None,
) -> tuple[ServoRow, ...]:
    """`limits`: each motor's calibrated range, where the robot knows it."""
    limits = limits or {}
    rows = []
    for m in motors:
        if observation is None:
            rows.append(ServoRow(m, None, None, None, None, None, None, "silent", limits.get(m)))
            continue
        load = observation.get(f"{m}.load")
        temperature = observation.get(f"{m}.temperature")
        voltage = observation.get(f"{m}.voltage")
        rows.append(
            ServoRow(
                name=m,
                position=observation.get(f"{m}.pos"),
                goal=None if goals is None else goals.get(f"{m}.pos"),
                load=load,
                temperature=temperature,
                voltage=voltage,
                current=observation.get(f"{m}.current"),
                status=servo_status(load, temperature, voltage),
                limits=limits.get(m),
            )
        )
    return tuple(rows)


def thumbnail(
    name: str, image: np.ndarray, age_ms: float = 0.0, width: int = THUMB_WIDTH
) -> CameraThumb:
    """A small copy of an HxWx3 picture (`width` pixels wide at most, aspect kept)."""
    small = _shrunk(image, width, cv2.INTER_AREA)
    return CameraThumb(name, small.shape[1], small.shape[0], small.tobytes(), age_ms)


def depth_thumbnail(
    name: str, depth_mm: np.ndarray, age_ms: float = 0.0, width: int = THUMB_WIDTH
) -> CameraThumb:
    """A depth map (H, W, 1) uint16 millimetres as a small false-colour picture on one fixed
    scale (`DEPTH_VIEW_MM`: the same colour is the same distance in every frame): near red, far
    blue, black where the camera has no reading (0)."""
    small = _shrunk(depth_mm[..., 0], width, cv2.INTER_NEAREST)  # no blend across an edge
    near, far = DEPTH_VIEW_MM
    nearness = np.clip((far - small.astype(np.float32)) / (far - near), 0.0, 1.0)
    level = (TURBO_BLUE + nearness * (TURBO_RED - TURBO_BLUE)).astype(np.uint8)
    rgb = cv2.applyColorMap(level, cv2.COLORMAP_TURBO)[..., ::-1].copy()
    rgb[small == 0] = 0
    return CameraThumb(name, rgb.shape[1], rgb.shape[0], rgb.tobytes(), age_ms)


def _shrunk(image: np.ndarray, width: int, interpolation: int) -> np.ndarray:
    h, w = image.shape[:2]
    tw = min(width, w)
    th = max(2, round(h * tw / w))
    # Every k-th pixel first, down to twice the thumbnail: INTER_AREA over the whole 640x480
    # picture took 0.52 ms of the control thread per camera, this 0.05 ms.
    step = max(1, w // (2 * tw))
    return cv2.resize(image[::step, ::step], (tw, th), interpolation=interpolation)
