"""A camera opened for the wizard's live preview while its cameras page is shown.

A thread opens the camera (which can take a second), then keeps a thumbnail of its newest frame
about 8 times a second until `stop()`. The screen picks the latest thumbnail up on its own timer,
so neither side ever waits for the other, and stopping never blocks the UI: the thread
disconnects the camera and ends on its own.
"""

from __future__ import annotations

import logging
import threading

from core.messages import CameraThumb
from hardware.errors import DeviceError

log = logging.getLogger(__name__)
PREVIEW_HZ = 8.0
SIM_PREVIEW_FPS = 10  # the sim camera draws only what the preview shows


class LiveCamera:
    def __init__(self, source: str, hz: float = PREVIEW_HZ):
        self.source = source
        self.period = 1.0 / hz
        self.thumb: CameraThumb | None = None  # the newest thumbnail
        self.error: str | None = None  # why the camera did not open, or stopped
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="wizard-preview", daemon=True)

    def start(self) -> LiveCamera:
        self.thread.start()
        return self

    def stop(self) -> None:
        """Ask the thread to close the camera and end (without waiting for it)."""
        self._stop.set()

    def _run(self) -> None:
        from core.telemetry import thumbnail
        from tui.detect import THUMB_WIDTH

        try:
            camera = self._open()
        except Exception as error:  # noqa: BLE001 - shown on the page, never fatal
            self.error = str(error)
            return
        try:
            while not self._stop.wait(self.period):
                frame = camera.read_latest()
                if frame is not None:
                    self.thumb = thumbnail(self.source, frame.image, width=THUMB_WIDTH)
        except DeviceError as error:
            self.error = str(error)
        finally:
            camera.disconnect()

    def _open(self):
        from hardware.cameras.discovery import probe
        from hardware.registry import make_camera
        from hardware.sim.camera import SimCameraConfig

        if self.source == "sim":
            config = SimCameraConfig(fps=SIM_PREVIEW_FPS)
        else:
            info = probe(int(self.source) if self.source.isdigit() else self.source)
            if info is None:
                raise DeviceError(f"{self.source} does not open as a camera")
            config = info.config(warmup_s=0.3)
        camera = make_camera(config, name="preview")
        camera.connect()
        return camera
