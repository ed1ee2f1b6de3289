"""Intel RealSense cameras (type `intelrealsense`, lerobot's name; `realsense` also works):
colour, and optionally depth, by serial or name, with lerobot's settings (colour order, rotation,
manual exposure, gain and white balance).

Needs Intel's `pyrealsense2`, an optional extra: `pip install 'lerecord[realsense]'`. Without
it, connecting or searching says so in one line.

Features as lerobot's `intelrealsense` camera: `<cam>` (H, W, 3) uint8 RGB when `use_rgb`, and
`<cam>_depth` (H, W, 1) uint16 millimetres when `use_depth` (see `RealSenseCameraConfig.features`;
the robot reads depth with `read_latest_depth()`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hardware.base import Camera, CameraConfig, Features, Frame
from hardware.errors import ConfigError, DeviceError
from hardware.option import option

log = logging.getLogger(__name__)

INSTALL = "pip install 'lerecord[realsense]'"
MAX_FAILURES = 10
STALE_PERIODS = 10  # a newest frame older than this many periods: the camera stopped


def _rs() -> Any:
    try:
        import pyrealsense2 as rs
    except ImportError:
        raise DeviceError(
            f"RealSense cameras need Intel's pyrealsense2: {INSTALL} "
            "(on macOS the package is pyrealsense2-macosx)"
        ) from None
    return rs


COLOR_MODES = ("rgb", "bgr")
ROTATIONS = {0: 0, 90: -1, 180: 2, -90: 1, 270: 1}  # degrees clockwise -> numpy rot90's k


@dataclass(kw_only=True)
class RealSenseCameraConfig(CameraConfig):
    type: ClassVar[str] = "intelrealsense"
    serial_number_or_name: str = option(
        help="the camera's serial number or name (`lerecord find-cameras realsense`)",
        example="0123456789",
    )
    color_mode: str = option("rgb", help="channel order of the pictures", choices=COLOR_MODES)
    use_rgb: bool = option(True, help="record the colour picture")
    use_depth: bool = option(False, help="record the depth picture too, as <name>_depth")
    rotation: int = option(
        0, help="rotation clockwise", choices=("0", "90", "180", "-90", "270"), unit="degrees"
    )
    warmup_s: float = option(1.0, help="time for the exposure to settle at connect", unit="s")
    exposure: int | None = option(
        None, help="manual exposure of the colour sensor (turns auto-exposure off)"
    )
    gain: int | None = option(None, help="manual gain of the colour sensor (auto-exposure off)")
    white_balance: int | None = option(
        None, help="manual white balance of the colour sensor (turns auto white balance off)"
    )

    def __post_init__(self) -> None:
        if not str(self.serial_number_or_name):
            raise ConfigError(
                "realsense camera: set serial_number_or_name (`lerecord find-cameras` lists them)"
            )
        if not (self.use_rgb or self.use_depth):
            raise ConfigError("realsense camera: use_rgb and use_depth are both off; enable one")
        given = {"exposure": self.exposure, "gain": self.gain, "white_balance": self.white_balance}
        manual = [name for name, value in given.items() if value is not None]
        if manual and not self.use_rgb:
            raise ConfigError(f"realsense camera: {', '.join(manual)} need use_rgb=true")
        sizes = (self.fps, self.width, self.height)
        if any(v is None for v in sizes) and any(v is not None for v in sizes):
            raise ConfigError("realsense camera: give fps, width and height together, or none")

    @property
    def turned(self) -> bool:
        """Whether the pictures come out a quarter turn from how the sensor captures them."""
        return self.rotation in (90, -90, 270)

    def features(self, name: str) -> Features:
        """What this camera adds to a robot's observation under the name `name`."""
        features: Features = {}
        if self.use_rgb:
            features[name] = (self.height, self.width, 3)
        if self.use_depth:
            features[f"{name}_depth"] = (self.height, self.width, 1)
        return features


@dataclass(frozen=True)
class RealSenseInfo:
    name: str
    serial_number: str
    firmware: str
    usb: str


def find_realsense_cameras() -> list[RealSenseInfo]:
    """The RealSense devices plugged in (for `lerecord find-cameras`)."""
    rs = _rs()
    found = []
    for device in rs.context().query_devices():

        def info(field: str, device: Any = device) -> str:
            key = getattr(rs.camera_info, field)
            return device.get_info(key) if device.supports(key) else ""

        found.append(
            RealSenseInfo(
                info("name"),
                info("serial_number"),
                info("firmware_version"),
                info("usb_type_descriptor"),
            )
        )
    return found


def _set_manual_options(rs: Any, profile: Any, c: RealSenseCameraConfig) -> None:
    """Exposure, gain and white balance as given (lerobot's order: auto modes off first)."""
    if c.exposure is None and c.gain is None and c.white_balance is None:
        return
    settings = (
        ("exposure", rs.option.exposure, c.exposure),
        ("gain", rs.option.gain, c.gain),
        ("white_balance", rs.option.white_balance, c.white_balance),
    )
    wanted = [(name, key, value) for name, key, value in settings if value is not None]
    sensor = profile.get_device().first_color_sensor()
    autos = []
    if c.exposure is not None or c.gain is not None:
        autos.append(rs.option.enable_auto_exposure)
    if c.white_balance is not None:
        autos.append(rs.option.enable_auto_white_balance)
    for auto in autos:
        if sensor.supports(auto):
            sensor.set_option(auto, 0)
    for name, key, value in wanted:
        if not sensor.supports(key):
            raise DeviceError(f"RealSense {c.serial_number_or_name}: no manual {name} on it")
        try:
            sensor.set_option(key, value)
        except RuntimeError:
            span = sensor.get_option_range(key)
            raise DeviceError(
                f"RealSense {c.serial_number_or_name}: {name}={value} refused; "
                f"this camera takes {span.min:g}..{span.max:g}"
            ) from None


def _resolve_serial(wanted: str) -> str:
    cameras = find_realsense_cameras()
    for camera in cameras:
        if camera.serial_number == wanted:
            return wanted
    named = [c for c in cameras if c.name == wanted]
    if len(named) == 1:
        return named[0].serial_number
    plugged = ", ".join(f"{c.name} #{c.serial_number}" for c in cameras) or "none"
    if len(named) > 1:
        raise ConfigError(
            f"several RealSense cameras are named {wanted!r} ({plugged}); "
            "give serial_number_or_name a serial number"
        )
    raise DeviceError(f"no RealSense camera {wanted!r} is plugged in (found: {plugged})")


class RealSenseCamera(Camera):
    config: RealSenseCameraConfig

    def __init__(self, config: RealSenseCameraConfig, name: str | None = None):
        super().__init__(config, name)
        self._pipeline: Any = None
        self._lock = threading.Lock()
        self._color: Frame | None = None
        self._depth: Frame | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    @property
    def is_connected(self) -> bool:
        return self._thread is not None and self.error is None

    def connect(self) -> None:
        rs = _rs()
        c = self.config
        serial = _resolve_serial(str(c.serial_number_or_name))
        config = rs.config()
        config.enable_device(serial)
        w, h, fps = c.width or 0, c.height or 0, c.fps or 0
        if c.turned:  # width and height are the pictures'; the sensor captures them turned
            w, h = h, w
        if c.use_rgb:
            config.enable_stream(rs.stream.color, w, h, rs.format.rgb8, fps)
        if c.use_depth:
            config.enable_stream(rs.stream.depth, w, h, rs.format.z16, fps)
        pipeline = rs.pipeline()
        try:
            profile = pipeline.start(config)
        except RuntimeError as error:
            raise DeviceError(
                f"RealSense {serial} cannot stream {w or 'any'}x{h or 'any'} at {fps or 'any'} fps "
                f"({error}); pick a mode the camera lists (realsense-viewer) or unplug others"
            ) from None
        stream = rs.stream.color if c.use_rgb else rs.stream.depth
        video = profile.get_stream(stream).as_video_stream_profile()
        c.width, c.height, c.fps = video.width(), video.height(), video.fps()
        if c.turned:
            c.width, c.height = c.height, c.width
        try:
            _set_manual_options(rs, profile, c)
        except DeviceError:
            pipeline.stop()
            raise
        self._pipeline = pipeline
        self._stop.clear()
        self._thread = threading.Thread(target=self._read, name=f"realsense-{serial}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + max(c.warmup_s, 2.0)
        while self._latest_any() is None and time.monotonic() < deadline and self.error is None:
            time.sleep(0.01)
        if self._latest_any() is None:
            self.disconnect()
            raise DeviceError(f"RealSense {serial} sent no frame within {max(c.warmup_s, 2.0)} s")

    def _latest_any(self) -> Frame | None:
        with self._lock:
            return self._color or self._depth

    def _read(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                frames = self._pipeline.wait_for_frames(1000)
            except RuntimeError as error:
                failures += 1
                if failures > MAX_FAILURES:
                    self.error = f"RealSense stopped sending frames: {error}"
                    log.error(self.error)
                    return
                continue
            failures = 0
            now = time.monotonic()
            color = frames.get_color_frame() if self.config.use_rgb else None
            depth = frames.get_depth_frame() if self.config.use_depth else None
            with self._lock:
                if color:
                    image = np.asanyarray(color.get_data())
                    if self.config.color_mode == "bgr":
                        image = image[..., ::-1]
                    self._color = Frame(self._turn(image), now)
                if depth:
                    self._depth = Frame(self._turn(np.asanyarray(depth.get_data())[..., None]), now)

    def _turn(self, image: np.ndarray) -> np.ndarray:
        """The picture as configured (`rotation`), as a new contiguous array."""
        k = ROTATIONS[self.config.rotation]
        return np.ascontiguousarray(np.rot90(image, k) if k else image)

    @property
    def depth_shape(self) -> tuple[int, int, int] | None:
        c = self.config
        return (c.height, c.width, 1) if c.use_depth else None

    def read_latest(self) -> Frame | None:
        with self._lock:
            return self._checked(self._color)

    def read_latest_depth(self) -> Frame | None:
        """The newest depth image (H, W, 1) uint16 mm, or None."""
        with self._lock:
            return self._checked(self._depth)

    def _checked(self, frame: Frame | None) -> Frame | None:
        if self.error is not None:
            raise DeviceError(
                f"camera {self.name or self.config.serial_number_or_name}: {self.error}"
            )
        stale_s = STALE_PERIODS / (self.config.fps or 30)
        if frame is not None and frame.age_s() > stale_s:
            raise DeviceError(
                f"camera {self.name or self.config.serial_number_or_name}: no new frame for "
                f"{frame.age_s():.1f} s; check its USB cable"
            )
        return frame

    def disconnect(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        if self._pipeline is not None:
            try:
                self._pipeline.stop()
            except RuntimeError:
                log.debug("RealSense pipeline already stopped")
            self._pipeline = None
