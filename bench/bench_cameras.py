"""Camera figures: what `read_latest()` costs the control loop, and what the sim camera costs.

    python -m bench.bench_cameras [--seconds 3]

For the sim camera and the OpenCV camera on an h264 file (640x480 at 30 fps, written here with
PyAV), the reader thread runs while the main thread calls `read_latest()` about 500 times a
second, as a control loop would; each call is timed. Also the sim camera's render time per
frame, and the CPU each camera's reader uses (process CPU time over wall time while it runs).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from hardware.base import Camera
from hardware.cameras.opencv import OpenCVCameraConfig
from hardware.registry import make_camera
from hardware.sim.arm_view import REST_POSE, ArmView
from hardware.sim.camera import SimCameraConfig

WIDTH, HEIGHT, FPS = 640, 480, 30


def write_clip(path: Path, seconds: float = 2.0) -> Path:
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        base = rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
        for i in range(round(seconds * FPS)):
            image = np.roll(base, 4 * i, axis=1)  # moving texture: real decoding work
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def time_render(frames: int = 300) -> list[float]:
    view = ArmView(WIDTH, HEIGHT)
    times = []
    for i in range(frames):
        pose = {**REST_POSE, "shoulder_pan.pos": i % 90 - 45.0, "elbow_flex.pos": i % 60 - 30.0}
        start = time.perf_counter()
        view.draw(pose, f"sim  #{i:05d}  t={i / FPS:.3f}s")
        times.append(time.perf_counter() - start)
    return times


class _Baseline:
    """The cheapest call that could stand in for `read_latest()`: one attribute, no camera."""

    def __init__(self):
        self._slot = (None, False)

    def read(self):
        frame, _ = self._slot
        return frame


def time_calls(read, seconds: float) -> tuple[list[float], list, float, float]:
    """Call `read` every ~2 ms as a control loop would.

    Returns each call's duration, (result, time read), the wall time and the process CPU time.
    """
    calls, results = [], []
    cpu0, wall0 = time.process_time(), time.monotonic()
    while time.monotonic() - wall0 < seconds:
        start = time.perf_counter()
        result = read()
        calls.append(time.perf_counter() - start)
        results.append((result, time.monotonic()))
        time.sleep(0.002)
    return calls, results, time.monotonic() - wall0, time.process_time() - cpu0


def time_read_latest(camera: Camera, seconds: float) -> dict[str, float]:
    camera.connect()
    try:
        calls, frames, wall, cpu = time_calls(camera.read_latest, seconds)
    finally:
        camera.disconnect()
    ages = [frame.age_s(now) for frame, now in frames]
    seen = {frame.captured_at for frame, _ in frames}
    calls_us = sorted(c * 1e6 for c in calls)
    return {
        "calls": len(calls),
        "median_us": statistics.median(calls_us),
        "p99_us": calls_us[int(0.99 * len(calls_us))],
        "max_us": calls_us[-1],
        "frames_per_s": len(seen) / wall,
        "mean_age_ms": 1e3 * statistics.fmean(ages),
        "cpu_percent": 100 * cpu / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    period_us = 1e6 / FPS

    render_ms = sorted(t * 1e3 for t in time_render())
    print(
        f"sim render {WIDTH}x{HEIGHT}: median {statistics.median(render_ms):.3f} ms, "
        f"p99 {render_ms[int(0.99 * len(render_ms))]:.3f} ms "
        f"({statistics.median(render_ms) * 1e3 / period_us:.1%} of a {FPS} fps period)"
    )

    base = sorted(c * 1e6 for c in time_calls(_Baseline().read, args.seconds / 2)[0])
    print(
        f"baseline (one attribute read, same calling pattern): median "
        f"{statistics.median(base):.1f} µs, p99 {base[int(0.99 * len(base))]:.1f} µs, "
        f"max {base[-1]:.1f} µs"
    )

    with tempfile.TemporaryDirectory() as folder:
        clip = write_clip(Path(folder) / "clip.mp4")
        cameras = {
            "sim": SimCameraConfig(width=WIDTH, height=HEIGHT, fps=FPS),
            "opencv (h264 file)": OpenCVCameraConfig(index_or_path=clip, fps=FPS),
        }
        for name, config in cameras.items():
            r = time_read_latest(make_camera(config, name), args.seconds)
            print(
                f"{name}: read_latest median {r['median_us']:.1f} µs, p99 {r['p99_us']:.1f} µs, "
                f"max {r['max_us']:.1f} µs over {r['calls']} calls "
                f"(median {r['median_us'] / statistics.median(base):.1f}x the baseline, "
                f"{r['median_us'] / period_us:.5f} of a frame period); "
                f"{r['frames_per_s']:.1f} frames/s, mean frame age {r['mean_age_ms']:.1f} ms, "
                f"process CPU {r['cpu_percent']:.0f} % of a core"
            )


if __name__ == "__main__":
    main()
