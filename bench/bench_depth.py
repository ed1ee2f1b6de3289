"""Per-frame cost of recording a depth camera (lerobot's quantisation, then its default depth
encoder: HEVC lossless, gray12le) through a real camera worker, one encoder thread, pinned to
one core.

    python -m bench.bench_depth                       # 640x480 and 320x240, 150 frames each
    python -m bench.bench_depth --frames 60 --sizes 640x480

Frames: the sim camera's depth map of the arm moving, plus the few-millimetre noise of a real
depth sensor (lossless coding pays for noise). CPU per frame is the process's CPU time over the
take (quantisation, encoding, statistics, flush); quantisation alone is measured too.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from bench.bench_encode import encoder_run_args
from core.dataset import depth
from core.dataset.camera_worker import CameraWorker
from core.dataset.video_encoder import DepthSettings
from hardware.sim.arm_view import REST_POSE, ArmView


def depth_maps(width: int, height: int, count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    view = ArmView(width, height)
    out = []
    for i in range(count):
        pose = {**REST_POSE, "shoulder_pan.pos": -40 + 80 * i / max(1, count - 1)}
        noise = rng.integers(-4, 5, (height, width, 1), dtype=np.int32)
        out.append((view.depth(pose).astype(np.int32) + noise).astype(np.uint16))
    return out


def record_ms(maps: list[np.ndarray], fps: int, staging: Path) -> tuple[float, float]:
    """CPU ms per frame of one take through a depth camera's worker, and the video's kB."""
    h, w, _ = maps[0].shape
    settings = DepthSettings()
    worker = CameraWorker(
        "cam_depth", (h, w, 1), fps, staging, settings, len(maps) + 1, threads=1, depth=settings
    )
    cpu = time.process_time()
    for n, image in enumerate(maps):
        worker.offer(1, n, image)
    result = worker.wait_finished(worker.finish(1, len(maps)))
    cpu = time.process_time() - cpu
    worker.stop(5)
    assert result.error is None, result.error
    return 1e3 * cpu / len(maps), result.path.stat().st_size / 1024


def quantize_ms(maps: list[np.ndarray]) -> float:
    settings = DepthSettings()
    per = []
    for image in maps:
        t = time.perf_counter()
        depth.video_frame(depth.quantize(image, settings), settings.pix_fmt)
        per.append(time.perf_counter() - t)
    return float(np.median(per) * 1e3)


def main() -> None:
    a = encoder_run_args(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as tmp:
        for size in a.sizes.split(","):
            w, h = (int(v) for v in size.split("x"))
            maps = depth_maps(w, h, a.frames)
            cpu, kb = record_ms(maps, a.fps, Path(tmp) / size)
            print(
                f"{w}x{h}: quantise {quantize_ms(maps):.2f} ms/frame, record (hevc lossless "
                f"gray12le) CPU {cpu:.2f} ms/frame, {kb:.0f} kB for {a.frames} frames; depth "
                f"cameras one core affords at {a.fps} fps: {1e3 / a.fps / cpu:.1f}"
            )


if __name__ == "__main__":
    main()
