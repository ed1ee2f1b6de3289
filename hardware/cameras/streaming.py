"""Cameras read by a thread of their own, so that nobody else ever waits for a frame.

A daemon reader thread fetches frames one after the other and keeps only the newest, with the
`time.monotonic()` at which it arrived, in a slot that it replaces with a single reference
assignment. `read_latest()` reads that reference and takes no lock, so it never waits for the
device nor for the reader thread (which could be descheduled at any point).

A camera that fails `MAX_FAILURES` reads in a row, or whose newest frame is older than
`stale_after_s` (a device that hangs without failing), is *lost*: `read_latest()` then raises
`DeviceError("camera 'front' (/dev/video0) stopped giving frames …")` until frames come again.
Meanwhile the reader tries to reopen the device every `REOPEN_INTERVAL_S`, so an unplugged camera
that comes back recovers on its own. The control loop therefore either gets a fresh frame or an
exception it can turn into a device fault; it never records a frozen picture unknowingly.
"""

from __future__ import annotations

import abc
import logging
import threading
import time
from typing import Any

import numpy as np

from hardware.base import Camera, CameraConfig, Frame
from hardware.errors import CameraLost, ConfigError, DeviceError

log = logging.getLogger(__name__)

Grab = tuple[np.ndarray, float]  # (HxWx3 uint8 image, capture time in time.monotonic seconds)


class StreamingCamera(Camera):
    """A camera with a reader thread; subclasses say how to open, read and close the device.

    `_open()` returns a handle (raising DeviceError with a one-line fix if it cannot), `_grab`
    returns one frame or None on a failed read, `_close` releases the handle. The reader thread
    owns the handle from `connect()` on and closes it when it ends. With `paced` set, the reader
    calls `_grab` once per period on absolute deadlines (video files, rendered cameras); otherwise
    `_grab` blocks until the device delivers (a real camera paces itself).
    """

    MAX_FAILURES = 10
    REOPEN_INTERVAL_S = 1.0
    FIRST_FRAME_TIMEOUT_S = 5.0
    paced = False

    def __init__(self, config: CameraConfig, name: str | None = None):
        super().__init__(config, name)
        self._slot: tuple[Frame | None, bool] = (None, False)  # (newest frame, lost), swapped whole
        self._arrived = threading.Condition()  # only for wait_for_frame()
        self._connected = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- what a device provides ----------------------------------------------------------------

    @property
    @abc.abstractmethod
    def source(self) -> str:
        """What the camera reads from, for messages: `/dev/video0`, `index 2`, `clip.mp4`, `sim`."""

    @property
    @abc.abstractmethod
    def fps(self) -> float:
        """Frames per second the device gives (known after `_open`)."""

    @abc.abstractmethod
    def _open(self) -> Any: ...

    @abc.abstractmethod
    def _grab(self, handle: Any) -> Grab | None: ...

    def _close(self, handle: Any) -> None:  # noqa: B027 - nothing to release by default
        pass

    def _reopen(self, handle: Any) -> Any:
        """Try to get a lost device back; return the handle to read from next."""
        return handle

    # ---- the Camera interface ------------------------------------------------------------------

    @property
    def label(self) -> str:
        return f"camera {self.name!r} ({self.source})" if self.name else f"camera {self.source}"

    @property
    def is_connected(self) -> bool:
        return self._connected

    @property
    def stale_after_s(self) -> float:
        """A frame older than this means the camera stopped (10 periods, at least 1 s)."""
        return max(1.0, 10.0 / self.fps)

    def connect(self) -> None:
        """Open the device, start the reader and wait for its first frame."""
        if self._connected:
            raise DeviceError(f"{self.label} is already connected")
        handle = self._open()
        self._slot = (None, False)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._read_frames,
            args=(handle, self._stop),
            name=f"camera-{self.name or self.source}",
            daemon=True,
        )
        self._connected = True
        self._thread.start()
        if self.wait_for_frame(self.FIRST_FRAME_TIMEOUT_S) is None:
            self.disconnect()
            raise DeviceError(
                f"{self.label} opened but gave no frame in {self.FIRST_FRAME_TIMEOUT_S:.0f} s: "
                "check that no other program is using it"
            )

    def read_latest(self) -> Frame | None:
        """The newest frame, at once; raises DeviceError if the camera is lost or disconnected."""
        frame, lost = self._slot
        if not self._connected:
            raise DeviceError(f"{self.label} is not connected: call connect() first")
        if lost:
            raise CameraLost(
                f"{self.label} stopped giving frames: check its cable and that no other program "
                "took it"
            )
        if frame is not None and (age := time.monotonic() - frame.captured_at) > self.stale_after_s:
            raise CameraLost(
                f"{self.label} stopped giving frames (the newest is {age:.1f} s old): check its "
                "cable and USB bandwidth"
            )
        return frame

    def wait_for_frame(self, timeout_s: float, newer_than: float | None = None) -> Frame | None:
        """Block until there is a frame (captured after `newer_than`, if given); None on timeout.

        For connect-time warm-up and tools, never for the control loop.
        """
        deadline = time.monotonic() + timeout_s
        with self._arrived:
            while True:
                frame = self._slot[0]
                if frame is not None and (newer_than is None or frame.captured_at > newer_than):
                    return frame
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._connected:
                    return None
                self._arrived.wait(remaining)

    def disconnect(self) -> None:
        """Stop the reader (it releases the device). Safe to call twice."""
        if not self._connected:
            return
        self._connected = False
        self._stop.set()
        with self._arrived:
            self._arrived.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=max(2.0, 3.0 / self.fps))
            if thread.is_alive():
                log.warning(
                    "%s: the reader is stuck in the driver; it will exit when it can", self.label
                )

    # ---- the reader thread ---------------------------------------------------------------------

    def _read_frames(self, handle: Any, stop: threading.Event) -> None:
        failures = 0
        period = 1.0 / self.fps
        due = time.monotonic()
        try:
            while not stop.is_set():
                if self.paced:
                    if stop.wait(max(0.0, due - time.monotonic())):
                        break
                    due += period
                    if time.monotonic() - due > period:  # fell far behind: skip, don't burst
                        due = time.monotonic()
                try:
                    grabbed = self._grab(handle)
                except Exception as error:  # a driver error is a failed read
                    log.debug("%s: read failed: %s", self.label, error)
                    grabbed = None
                if stop.is_set():
                    break
                if grabbed is not None:
                    failures = 0
                    self._publish(Frame(*grabbed))
                    continue
                failures += 1
                if failures >= self.MAX_FAILURES:
                    handle = self._recover(handle, stop)
        finally:
            self._close(handle)

    def _publish(self, frame: Frame) -> None:
        if self._slot[1]:
            log.warning("%s gives frames again", self.label)
        self._slot = (frame, False)
        with self._arrived:
            self._arrived.notify_all()

    def _recover(self, handle: Any, stop: threading.Event) -> Any:
        if not self._slot[1]:
            log.warning("%s stopped giving frames", self.label)
        self._slot = (self._slot[0], True)
        if stop.wait(self.REOPEN_INTERVAL_S):
            return handle
        try:
            return self._reopen(handle)
        except Exception as error:
            log.debug("%s: reopening failed: %s", self.label, error)
            return handle


def check_size_and_fps(config: CameraConfig) -> None:
    """For every camera config: positive numbers, width and height given together."""
    for name, kinds in (("width", int), ("height", int), ("fps", (int, float))):
        value = getattr(config, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, kinds) or value <= 0
        ):
            kind = "whole number" if kinds is int else "number"
            raise ConfigError(f"camera {name}: {value!r} is not a positive {kind}")
    if (config.width is None) != (config.height is None):
        raise ConfigError("camera width/height: give both or neither (neither = device default)")
