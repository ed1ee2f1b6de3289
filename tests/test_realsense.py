"""RealSense cameras. No camera and no pyrealsense2 here: the missing package is tested for
real; the streaming logic runs against a stand-in for Intel's module (the device)."""

import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from hardware.cameras.realsense import RealSenseCamera, RealSenseCameraConfig
from hardware.errors import ConfigError, DeviceError
from hardware.registry import config_class

ROOT = Path(__file__).resolve().parents[1]


def test_without_pyrealsense2_the_error_says_how_to_install_it():
    code = (
        "import sys; sys.modules['pyrealsense2'] = None\n"  # as if the extra were not installed
        "from hardware.registry import config_class, make_camera\n"
        "from hardware.errors import DeviceError\n"
        "cam = make_camera(config_class('camera', 'realsense')(serial_number_or_name='123'))\n"
        "try:\n    cam.connect()\nexcept DeviceError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert "pip install 'lerecord[realsense]'" in out.stdout, out.stdout + out.stderr
    assert out.stdout.startswith("RealSense cameras need Intel's pyrealsense2")


def test_config_errors_name_the_field():
    cls = config_class("camera", "realsense")
    assert cls is config_class("camera", "intelrealsense") and cls.type == "intelrealsense"
    with pytest.raises(ConfigError, match="serial_number_or_name"):
        cls(serial_number_or_name="")
    with pytest.raises(ConfigError, match="fps, width and height together"):
        cls(serial_number_or_name="1", width=64)
    with pytest.raises(ConfigError, match="exposure need use_rgb=true"):
        cls(serial_number_or_name="1", use_rgb=False, use_depth=True, exposure=100)
    with pytest.raises(ConfigError, match="enable one"):
        cls(serial_number_or_name="1", use_rgb=False)
    cfg = cls(serial_number_or_name="1", width=64, height=48, fps=30, use_depth=True)
    assert cfg.features("top") == {"top": (48, 64, 3), "top_depth": (48, 64, 1)}


def fake_pyrealsense2(devices: list[tuple[str, str]]):
    """The parts of Intel's module the driver uses, serving numbered frames."""
    rs = types.ModuleType("pyrealsense2")
    rs.camera_info = types.SimpleNamespace(
        name="name", serial_number="serial_number", firmware_version="fw", usb_type_descriptor="usb"
    )
    rs.stream = types.SimpleNamespace(color="color", depth="depth")
    rs.format = types.SimpleNamespace(rgb8="rgb8", z16="z16")
    rs.enabled = []

    class Device:
        def __init__(self, name, serial):
            self.values = {"name": name, "serial_number": serial, "fw": "5.13", "usb": "3.2"}

        def supports(self, key):
            return True

        def get_info(self, key):
            return self.values[key]

    class Context:
        def query_devices(self):
            return [Device(*d) for d in devices]

    class Config:
        def enable_device(self, serial):
            rs.enabled.append(("device", serial))

        def enable_stream(self, stream, w, h, fmt, fps):
            rs.enabled.append((stream, w, h, fmt, fps))

    class Data:
        def __init__(self, array):
            self.array = array

        def get_data(self):
            return self.array

    class Frames:
        def get_color_frame(self):
            return Data(np.full((48, 64, 3), 7, np.uint8))

        def get_depth_frame(self):
            return Data(np.full((48, 64), 1234, np.uint16))

    class Profile:
        def get_stream(self, stream):
            return self

        def as_video_stream_profile(self):
            return self

        def width(self):
            return 64

        def height(self):
            return 48

        def fps(self):
            return 30

    class Pipeline:
        def start(self, config):
            return Profile()

        def wait_for_frames(self, timeout_ms):
            return Frames()

        def stop(self):
            rs.enabled.append("stopped")

    rs.context, rs.config, rs.pipeline = Context, Config, Pipeline
    return rs


def test_colour_and_depth_by_name(monkeypatch):
    rs = fake_pyrealsense2([("Intel RealSense D435", "0451"), ("Intel RealSense D405", "0999")])
    monkeypatch.setitem(sys.modules, "pyrealsense2", rs)
    from hardware.cameras.realsense import RealSenseCamera, RealSenseCameraConfig

    cam = RealSenseCamera(
        RealSenseCameraConfig(
            serial_number_or_name="Intel RealSense D405", use_depth=True, warmup_s=0
        )
    )
    cam.connect()
    try:
        assert ("device", "0999") in rs.enabled
        assert ("depth", 0, 0, "z16", 0) in rs.enabled  # no size given: the camera's default
        assert (cam.config.width, cam.config.height, cam.config.fps) == (64, 48, 30)
        assert cam.read_latest().image.shape == (48, 64, 3)
        depth = cam.read_latest_depth().image
        assert depth.shape == (48, 64, 1) and depth.dtype == np.uint16 and depth[0, 0, 0] == 1234
    finally:
        cam.disconnect()
    assert rs.enabled[-1] == "stopped"


def test_unknown_camera_lists_the_plugged_ones(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyrealsense2", fake_pyrealsense2([("D435", "0451")]))
    from hardware.cameras.realsense import (
        RealSenseCamera,
        RealSenseCameraConfig,
        find_realsense_cameras,
    )

    assert [c.serial_number for c in find_realsense_cameras()] == ["0451"]
    with pytest.raises(DeviceError, match=r"no RealSense camera '777'.*D435 #0451"):
        RealSenseCamera(RealSenseCameraConfig(serial_number_or_name="777")).connect()


def test_find_cameras_realsense_lists_them_with_a_picture(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "pyrealsense2", fake_pyrealsense2([("D435", "0451")]))
    from core.commands import find_cameras

    assert find_cameras.main(["realsense", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "D435  serial 0451  firmware 5.13  USB 3.2  64x48" in out
    assert '"serial_number_or_name": "0451"' in out
    assert (tmp_path / "realsense_0451.png").stat().st_size > 0


def test_find_cameras_realsense_without_the_package_says_how_to_install_it():
    code = (
        "import sys; sys.modules['pyrealsense2'] = None\n"  # as if the extra were not installed
        "from core.cli import main\n"
        "sys.exit(main(['find-cameras', 'realsense']))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 1  # a device that cannot be used (its driver is missing)
    assert out.stderr.startswith("lerecord: error: RealSense cameras need Intel's pyrealsense2")
    assert "pip install 'lerecord[realsense]'" in out.stderr


def _with_colour_sensor(rs, refuse: set[str] = frozenset()):
    """Give the fake module lerobot's manual colour options and a sensor recording them."""
    names = ("exposure", "gain", "white_balance")
    names += ("enable_auto_exposure", "enable_auto_white_balance")
    rs.option = types.SimpleNamespace(**{n: n for n in names})
    rs.set = []

    class Sensor:
        def supports(self, key):
            return True

        def set_option(self, key, value):
            if key in refuse:
                raise RuntimeError("out of range")
            rs.set.append((key, value))

        def get_option_range(self, key):
            return types.SimpleNamespace(min=1, max=10000)

    class Device:
        def first_color_sensor(self):
            return Sensor()

    start, wait = rs.pipeline.start, rs.pipeline.wait_for_frames
    picture = np.zeros((48, 64, 3), np.uint8)
    picture[...] = (10, 20, 30)  # R, G, B
    picture[0, :] = 255  # the top row, white: after a quarter turn clockwise, the right column

    def start_with_device(self, config):
        profile = start(self, config)
        profile.get_device = Device
        return profile

    def wait_with_picture(self, timeout_ms):
        frames = wait(self, timeout_ms)
        frames.get_color_frame = lambda: types.SimpleNamespace(get_data=lambda: picture)
        return frames

    rs.pipeline.start, rs.pipeline.wait_for_frames = start_with_device, wait_with_picture
    return rs


def test_intelrealsense_turns_orders_and_sets_the_colour_sensor_as_lerobot(monkeypatch):
    rs = _with_colour_sensor(fake_pyrealsense2([("Intel RealSense D435", "0451")]))
    monkeypatch.setitem(sys.modules, "pyrealsense2", rs)
    from core.config import parse_record_args

    camera = (
        '{"top": {"type": "intelrealsense", "serial_number_or_name": "0451", "width": 48, '
        '"height": 64, "fps": 30, "rotation": 90, "color_mode": "bgr", "use_depth": true, '
        '"exposure": 150, "white_balance": 4600, "warmup_s": 0}}'
    )
    config = parse_record_args(
        [
            "--robot.type=so101_follower",
            "--robot.port=sim",
            f"--robot.cameras={camera}",
            "--teleop.type=keyboard",
            "--dataset.repo_id=me/turned",
            "--dataset.single_task=Look",
        ]
    )
    cam = RealSenseCamera(config.robot.cameras["top"], "top")
    cam.connect()
    try:
        assert ("color", 64, 48, "rgb8", 30) in rs.enabled  # captured landscape, shown portrait
        assert (cam.config.width, cam.config.height) == (48, 64)
        image = cam.read_latest().image
        assert image.shape == (64, 48, 3) and image.flags.c_contiguous
        assert tuple(image[10, 10]) == (30, 20, 10)  # bgr
        assert (image[:, -1] == 255).all() and not (image[:, 0] == 255).any()
        assert cam.read_latest_depth().image.shape == (64, 48, 1)
        assert rs.set == [
            ("enable_auto_exposure", 0),
            ("enable_auto_white_balance", 0),
            ("exposure", 150),
            ("white_balance", 4600),
        ]
    finally:
        cam.disconnect()


def test_a_refused_exposure_names_the_range_and_stops_the_camera(monkeypatch):
    rs = _with_colour_sensor(fake_pyrealsense2([("D435", "0451")]), refuse={"exposure"})
    monkeypatch.setitem(sys.modules, "pyrealsense2", rs)
    config = RealSenseCameraConfig(serial_number_or_name="0451", exposure=99999, warmup_s=0)
    with pytest.raises(DeviceError, match=r"exposure=99999 refused; this camera takes 1\.\.10000"):
        RealSenseCamera(config).connect()
    assert rs.enabled[-1] == "stopped"
