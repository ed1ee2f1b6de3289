"""A camera opened for the wizard's live preview while its cameras page is shown, as the
session will open it: at the size (and, but for the sim camera, the rate) the page asks for, so
a camera that cannot give that size says so here.

A thread opens the camera (which can take a second), then keeps a thumbnail of its newest frame
about 8 times a second until `stop()`. The screen picks the latest thumbnail up on its own timer,
so neither side ever waits for the other, and stopping never blocks the UI: the thread
disconnects the camera and ends on its own.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from core.messages import CameraThumb
from hardware.errors import DeviceError

log = logging.getLogger(__name__)
PREVIEW_HZ = 8.0
SIM_PREVIEW_FPS = 10  # the sim camera draws only what the preview shows


class LiveCamera:
    def __init__(self, source: str, camera: dict[str, Any], hz: float = PREVIEW_HZ):
        """`camera`: the cameras page's answer for it (`type`, `width`, `height`, `fps`, …)."""
        self.source = source
        self.camera = dict(camera)
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
        from hardware.registry import config_class, make_camera

        fields = dict(self.camera)
        kind = fields.pop("type")
        if kind == "sim":
            fields["fps"] = SIM_PREVIEW_FPS
        else:
            fields["warmup_s"] = 0.3
        camera = make_camera(config_class("camera", kind)(**fields), name="preview")
        camera.connect()
        return camera
