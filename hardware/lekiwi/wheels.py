"""LeKiwi's three-omniwheel base: body velocities <-> wheel speeds, and the wheels themselves.

Kinematics as lerobot's LeKiwi: wheels at 240°, 0°, 120° (minus 90°) around the centre,
wheel radius 0.05 m, base radius 0.125 m; `x.vel`, `y.vel` in m/s and `theta.vel` in deg/s.
Wheel speeds are STS3215 raw velocity units (4096 steps per turn, per second), scaled down
together so that none exceeds 3000.
"""

from __future__ import annotations

import abc
import math

import numpy as np

WHEELS = ("base_left_wheel", "base_back_wheel", "base_right_wheel")
WHEEL_IDS = (7, 8, 9)
WHEEL_RADIUS_M = 0.05
BASE_RADIUS_M = 0.125
MAX_RAW = 3000
STEPS_PER_DEG = 4096.0 / 360.0

_ANGLES = np.radians(np.array([240.0, 0.0, 120.0]) - 90.0)
_M = np.array([[math.cos(a), math.sin(a), BASE_RADIUS_M] for a in _ANGLES])
_M_INV = np.linalg.inv(_M)


def body_to_wheel_raw(x: float, y: float, theta_deg: float) -> tuple[int, int, int]:
    wheel_linear = _M @ np.array([x, y, math.radians(theta_deg)])
    wheel_degps = np.degrees(wheel_linear / WHEEL_RADIUS_M)
    peak = float(np.max(np.abs(wheel_degps))) * STEPS_PER_DEG
    if peak > MAX_RAW:
        wheel_degps = wheel_degps * (MAX_RAW / peak)
    raw = [int(round(d * STEPS_PER_DEG)) for d in wheel_degps]
    return tuple(max(-0x8000, min(0x7FFF, r)) for r in raw)  # type: ignore[return-value]


def wheel_raw_to_body(raw: tuple[int, int, int]) -> dict[str, float]:
    wheel_linear = np.radians(np.array(raw, dtype=float) / STEPS_PER_DEG) * WHEEL_RADIUS_M
    x, y, theta_rad = _M_INV @ wheel_linear
    return {"x.vel": float(x), "y.vel": float(y), "theta.vel": math.degrees(theta_rad)}


class Wheels(abc.ABC):
    """The three wheel motors in velocity mode."""

    @abc.abstractmethod
    def connect(self) -> None: ...

    @abc.abstractmethod
    def set_speeds(self, raw: tuple[int, int, int]) -> None: ...

    @abc.abstractmethod
    def speeds(self) -> tuple[int, int, int]:
        """Present wheel speeds, raw units."""

    def stop(self) -> None:
        self.set_speeds((0, 0, 0))

    @abc.abstractmethod
    def disconnect(self) -> None: ...
