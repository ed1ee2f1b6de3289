"""`--display_data=true`: stream camera thumbnails and scalars to a Rerun viewer.

Fed from telemetry snapshots by a client (the console app's poll, or the headless runner), never
from the control loop, so a slow viewer cannot delay a step. Rerun is an optional extra
(`pip install 'lerecord[rerun]'`); without it `open()` logs one note and returns None.
"""

from __future__ import annotations

import logging

import numpy as np

from core.messages import Telemetry

log = logging.getLogger(__name__)

MISSING_NOTE = ("--display_data: rerun-sdk is not installed (pip install 'lerecord[rerun]'); "
                "the console already shows the cameras, servos and timings")


class RerunStreamer:
    def __init__(self, rr):
        self.rr = rr
        self._last_step = -1

    @classmethod
    def open(cls, name: str = "lerecord", spawn: bool = True) -> RerunStreamer | None:
        try:
            import rerun as rr
        except ImportError:
            log.warning(MISSING_NOTE)
            return None
        rr.init(f"lerecord/{name}", spawn=spawn)
        return cls(rr)

    def log(self, t: Telemetry) -> None:
        """Log one snapshot (skipped when the engine has not stepped since the last one)."""
        if t.step == self._last_step:
            return
        self._last_step = t.step
        rr = self.rr
        if hasattr(rr, "set_time"):
            rr.set_time("step", sequence=t.step)
        else:  # rerun-sdk < 0.23
            rr.set_time_sequence("step", t.step)
        scalar = getattr(rr, "Scalars", None) or rr.Scalar
        for name, value in t.action:
            rr.log(f"action/{name}", scalar(value))
        for servo in t.servos:
            if servo.position is not None:
                rr.log(f"observation/{servo.name}.pos", scalar(servo.position))
        if t.timing.lateness_ms:
            rr.log("timing/lateness_ms", scalar(t.timing.lateness_ms[-1]))
        for thumb in t.cameras:
            image = np.frombuffer(thumb.rgb, dtype=np.uint8).reshape(thumb.height, thumb.width, 3)
            rr.log(f"observation/images/{thumb.name}", rr.Image(image))
