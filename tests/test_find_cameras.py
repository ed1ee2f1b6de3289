"""`lerecord find-cameras` lists what opens and saves a picture of each; with none, it says so."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from camera_clips import BLUE, RED, close, write_clip

from core.cli import main
from hardware.cameras import discovery
from hardware.cameras.discovery import CameraInfo, find_cameras, grab_frame

ROOT = Path(__file__).resolve().parents[1]


def read_png_rgb(path: Path):
    image = cv2.imread(str(path))
    assert image is not None, f"{path} is not a picture"
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@pytest.mark.skipif(bool(glob.glob("/dev/video*")), reason="this machine has cameras")
def test_with_no_camera_it_says_so_and_succeeds(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "core.cli", "find-cameras", "--output-dir", str(tmp_path / "x")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("No camera found (looked at /dev/video*)")
    assert "lerecord find-cameras sim" in out.stdout
    assert out.stderr == ""
    assert not (tmp_path / "x").exists()


def test_the_sim_camera_is_listed_and_pictured(tmp_path, capsys):
    assert main(["find-cameras", "sim", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    picture = tmp_path / "sim.png"
    assert "Found 1 camera:" in out and "640x480" in out and str(picture) in out
    image = read_png_rgb(picture)
    assert image.shape == (480, 640, 3)
    assert len(set(map(tuple, image.reshape(-1, 3)[::97]))) > 5  # a drawing, not a flat colour
    assert '--robot.cameras=\'{"front": {"type": "sim", "width": 640' in out


def test_a_video_file_path_is_probed_and_pictured(tmp_path, capsys):
    clip = write_clip(tmp_path / "clip.mp4", width=64, height=48, fps=30)
    assert main(["find-cameras", str(clip), "--output-dir", str(tmp_path / "pics")]) == 0
    out = capsys.readouterr().out
    assert "64x48" in out and "FFMPEG" in out
    (picture,) = (tmp_path / "pics").glob("*.png")
    assert str(picture) in out
    image = read_png_rgb(picture)  # saved in true colours
    assert image.shape == (48, 64, 3)
    assert close(image[5, 5], RED) and close(image[40, 60], BLUE)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux lists /dev/video*")
def test_devices_are_scanned_in_order_and_those_that_open_are_listed(tmp_path, monkeypatch):
    write_clip(tmp_path / "video10", width=64, height=48, fps=30)
    write_clip(tmp_path / "video2", width=32, height=24, fps=15)
    (tmp_path / "video0").write_bytes(b"a metadata node that does not open")
    monkeypatch.setattr(discovery, "DEVICE_GLOB", str(tmp_path / "video*"))
    found = find_cameras()
    assert [Path(info.index_or_path).name for info in found] == ["video2", "video10"]
    assert [(info.width, info.height, info.fps) for info in found] == [(32, 24, 15), (64, 48, 30)]
    config = found[1].config()
    assert (config.type, config.width, config.height, config.fps) == ("opencv", 64, 48, 30)


def test_a_preview_frame_can_be_grabbed_for_the_wizard():
    (sim,) = find_cameras("sim")
    assert sim == CameraInfo("sim", "sim", 640, 480, 30.0)
    frame = grab_frame(sim)
    assert frame.image.shape == (480, 640, 3) and frame.age_s() < 5


def test_an_unknown_kind_is_one_clear_error(capsys):
    assert main(["find-cameras", "webcam"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "lerecord: error: find-cameras: 'webcam' is neither opencv, sim nor the path of a "
        "device or video file"
    ]
