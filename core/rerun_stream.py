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

MISSING_NOTE = (
    "--display_data: rerun-sdk is not installed (pip install 'lerecord[rerun]'); "
    "the console already shows the cameras, servos and timings"
)


def remote_url(ip: str, port: int) -> str:
    """Where a remote Rerun viewer listens, as lerobot connects to it."""
    return f"rerun+http://{ip}:{port}/proxy"


class RerunStreamer:
    def __init__(self, rr, compress: bool = False):
        self.rr = rr
        self.compress = compress  # camera pictures as JPEG (`--display_compressed_images`)
        self._last_step = -1

    @staticmethod
    def available() -> bool:
        import importlib.util

        return importlib.util.find_spec("rerun") is not None

    @classmethod
    def open(cls, name: str = "lerecord", spawn: bool = True) -> RerunStreamer | None:
        try:
            import rerun as rr
        except ImportError:
            log.warning(MISSING_NOTE)
            return None
        rr.init(f"lerecord/{name}", spawn=spawn)
        return cls(rr)

    @classmethod
    def for_session(cls, config) -> RerunStreamer | None:
        """The viewer a session's `--display_*` flags name: one spawned here, or the remote one
        at `--display_ip`:`--display_port` (lerobot's URL), pictures then sent as JPEG."""
        name = config.dataset.repo_id
        if config.display_ip is None:
            streamer = cls.open(name)
            if streamer is not None:
                streamer.compress = config.display_compressed_images
            return streamer
        streamer = cls.open(name, spawn=False)
        if streamer is not None:
            streamer.rr.connect_grpc(url=remote_url(config.display_ip, config.display_port))
            streamer.compress = True
        return streamer

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
            picture = rr.Image(image)
            if self.compress:
                picture = picture.compress()
            rr.log(f"observation/images/{thumb.name}", picture)
