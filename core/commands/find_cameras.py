"""`lerecord find-cameras [opencv|sim|realsense|PATH] [--output-dir DIR]`: list cameras, save a
picture each.

Prints a table of the cameras that open (where, default resolution and rate, the picture saved)
and a `--robot.cameras` value for the first one. With no camera it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import cv2

from core.config.declared import settings
from core.config.help import command_help
from hardware.cameras.discovery import DEVICE_GLOB, CameraInfo, find_cameras, grab_frame, probe
from hardware.errors import ConfigError, DeviceError
from hardware.option import option

KINDS = ("opencv", "sim")
SUMMARY = "list the cameras that open, with their size and rate, and save a picture of each"
USAGE = "lerecord find-cameras [opencv|sim|realsense|PATH] [--output-dir=DIR]"


@dataclass(kw_only=True)
class FindCamerasFlags:
    output_dir: Path = option(Path("outputs/captured_images"), help="where to save the pictures")


def help(argv: list[str]) -> str:
    kinds = (
        "Which cameras: opencv (default: USB cameras), sim (the simulated camera), realsense "
        "(Intel RealSense, needs the realsense extra), or one device or video file path."
    )
    return command_help(USAGE, SUMMARY, FindCamerasFlags, epilog=kinds)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lerecord find-cameras", add_help=False)
    parser.add_argument("kind", nargs="?", default="opencv")
    (output_dir,) = settings(FindCamerasFlags)
    parser.add_argument("--output-dir", "--output_dir", type=Path, default=output_dir.default)
    args = parser.parse_args(argv)
    if args.kind == "realsense":
        return _find_realsense(args.output_dir)
    cameras = _cameras(args.kind)
    if not cameras:
        where = DEVICE_GLOB if args.kind == "opencv" else args.kind
        print(
            f"No camera found (looked at {where}). Check that it is plugged in and that no other "
            "program uses it, or try `lerecord find-cameras sim`."
        )
        return 0
    args.output_dir.mkdir(parents=True, exist_ok=True)
    rows = [(info, _save_picture(info, args.output_dir)) for info in cameras]
    _print_table(rows)
    first = vars(cameras[0].config())
    fields = {k: first[k] for k in ("index_or_path", "width", "height", "fps") if k in first}
    example = json.dumps({"front": {"type": cameras[0].type, **fields}})
    print(f"\nUse one with: --robot.cameras='{example}'")
    return 0


def _cameras(kind: str) -> list[CameraInfo]:
    if kind in KINDS:
        return find_cameras(kind)
    if not Path(kind).exists():
        raise ConfigError(
            f"find-cameras: {kind!r} is neither {', '.join(KINDS)} nor the path of a device or "
            "video file"
        )
    info = probe(kind)
    return [info] if info is not None else []


def _save_picture(info: CameraInfo, output_dir: Path) -> str:
    """Where the picture went, or why there is none."""
    try:
        frame = grab_frame(info, warmup_s=0.0 if info.type == "sim" else 1.0)
    except DeviceError as error:
        return f"no picture: {error}"
    path = output_dir / f"{info.file_stem}.png"
    if not cv2.imwrite(str(path), cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR)):
        return f"no picture: could not write {path}"
    return str(path)


def _print_table(rows: list[tuple[CameraInfo, str]]) -> None:
    header = ("camera", "type", "resolution", "fps", "backend", "picture")
    lines = [
        (info.label, info.type, f"{info.width}x{info.height}", f"{info.fps:g}", info.backend, saved)
        for info, saved in rows
    ]
    widths = [max(len(str(row[i])) for row in (header, *lines)) for i in range(len(header) - 1)]
    print(f"Found {len(rows)} camera{'s' if len(rows) != 1 else ''}:")
    for row in (header, *lines):
        print(
            "  "
            + "  ".join(f"{cell:<{w}}" for cell, w in zip(row[:-1], widths, strict=True))
            + "  "
            + row[-1]
        )


def _find_realsense(output_dir: Path) -> int:
    """RealSense cameras by name and serial number, with a colour picture from each."""
    from hardware.cameras.realsense import (
        RealSenseCamera,
        RealSenseCameraConfig,
        find_realsense_cameras,
    )

    found = find_realsense_cameras()  # DeviceError with the install hint without pyrealsense2
    if not found:
        print("No RealSense camera found. Check that it is plugged in (a USB 3 port).")
        return 0
    output_dir.mkdir(parents=True, exist_ok=True)
    print(f"Found {len(found)} RealSense camera{'s' if len(found) != 1 else ''}:")
    for info in found:
        camera = RealSenseCamera(RealSenseCameraConfig(serial_number_or_name=info.serial_number))
        try:
            camera.connect()
            frame = camera.read_latest()
            path = output_dir / f"realsense_{info.serial_number}.png"
            cv2.imwrite(str(path), cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
            picture = f"{camera.config.width}x{camera.config.height} {path}"
        except DeviceError as error:
            picture = f"no picture: {error}"
        finally:
            camera.disconnect()
        print(
            f"  {info.name}  serial {info.serial_number}  firmware {info.firmware}  "
            f"USB {info.usb}  {picture}"
        )
    example = {"front": {"type": "realsense", "serial_number_or_name": found[0].serial_number}}
    print(f"\nUse one with: --robot.cameras='{json.dumps(example)}'")
    return 0
