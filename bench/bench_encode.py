"""Per-frame cost of each camera encoder on this machine, one encoder thread, pinned to one core:
what the thread budget's choice of codec and preset for a small computer rests on.

    python -m bench.bench_encode                      # every codec/preset, 640x480 and 320x240
    python -m bench.bench_encode --frames 60 --sizes 640x480

Frames are synthetic pictures that move (a scrolled gradient, a noisy block), encoded by a real
camera worker (`CameraWorker`, 1 encoder thread, histograms included): CPU per frame is the
process's CPU time over the take (flush included; pinned, so it is one core's work). The colour
conversion (rgb24 → yuv420p) is measured on its own as well: it is part of every encode.
"held": the longest a Python thread sleeping 1 ms at a time overslept while the encoder opened
(the first frame) and while it closed: PyAV calls `avcodec_open2` and frees the codec with the
GIL held, so that is how long a control thread in the same process would be stalled.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from core.dataset.camera_worker import CameraWorker
from core.dataset.video_encoder import VideoSettings

CANDIDATES = (  # (codec, preset): lerobot's default first, then what a small computer can afford
    ("libsvtav1", 12),
    ("libsvtav1", 13),
    ("h264", "ultrafast"),
    ("h264", "superfast"),
)


def frames(width: int, height: int, count: int) -> list[np.ndarray]:
    """Pictures that move like a camera's: a gradient scrolled and a noisy block, not flat."""
    rng = np.random.default_rng(0)
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    out = []
    for i in range(count):
        base = (x[None, :] + y + 4 * i) % 256
        image = np.stack([base, base[::-1], (base + 85) % 256], axis=-1).astype(np.uint8)
        r, c = (i * 7) % (height // 2), (i * 11) % (width // 2)
        image[r : r + height // 4, c : c + width // 4] = rng.integers(
            0, 255, (height // 4, width // 4, 3), np.uint8
        )
        out.append(image)
    return out


class Ticker:
    """A thread sleeping 1 ms at a time, noting how late it woke: the stalls another thread's
    GIL-holding calls give it."""

    def __init__(self):
        self.wakes: list[tuple[float, float]] = []  # (when the sleep began, oversleep)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            t = time.perf_counter()
            time.sleep(0.001)
            self.wakes.append((t, time.perf_counter() - t - 0.001))

    def worst_ms(self, start: float, end: float) -> float:
        """The longest oversleep of a sleep begun between `start` and `end`."""
        time.sleep(0.02)  # the wake that ends a stall comes after it
        return 1e3 * max((late for t, late in self.wakes if start <= t <= end), default=0.0)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def encode_ms(
    settings: VideoSettings, images: list[np.ndarray], fps: int, staging: Path, ticker: Ticker
) -> dict:
    """One take through a real camera worker (1 encoder thread): CPU per frame, the open (first
    frame) and close times, and the longest stall of a Python thread during each."""
    h, w, _ = images[0].shape
    worker = CameraWorker("cam", (h, w, 3), fps, staging, settings, len(images) + 1, threads=1)
    time.sleep(0.05)
    cpu, t0 = time.process_time(), time.perf_counter()
    worker.offer(1, 0, images[0])
    while worker.consumed < 1:
        time.sleep(0.0005)
    opened = time.perf_counter() - t0
    open_held = ticker.worst_ms(t0, t0 + opened)
    for n, image in enumerate(images[1:], 1):
        worker.offer(1, n, image)
    while worker.consumed < len(images):
        time.sleep(0.001)
    time.sleep(0.05)
    t = time.perf_counter()
    result = worker.wait_finished(worker.finish(1, len(images)))
    closed = time.perf_counter() - t
    close_held = ticker.worst_ms(t, t + closed)
    cpu = time.process_time() - cpu
    worker.stop(5)
    assert result.error is None, result.error
    return {
        "cpu": 1e3 * cpu / len(images),
        "open": opened * 1e3,
        "open_held": open_held,
        "close": closed * 1e3,
        "close_held": close_held,
        "kb": result.path.stat().st_size / 1024,
    }


def convert_ms(images: list[np.ndarray]) -> float:
    import av

    per = []
    for image in images:
        t = time.perf_counter()
        av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        per.append(time.perf_counter() - t)
    return float(np.median(per) * 1e3)


def encoder_run_args(description: str) -> argparse.Namespace:
    """The flags of a per-frame encoder benchmark; pins the process to one core unless
    --no-pin, and prints the machine line."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--frames", type=int, default=150, help="frames per run")
    p.add_argument("--sizes", default="640x480,320x240")
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--no-pin", action="store_true", help="stay on every allowed core")
    a = p.parse_args()
    if not a.no_pin:
        from bench.pin import pin_to_one_core

        core, _ = pin_to_one_core()
        print(f"pinned to core {core}")
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; 1 encoder thread")
    return a


def main() -> None:
    a = encoder_run_args(__doc__.splitlines()[0])
    ticker = Ticker()
    with tempfile.TemporaryDirectory() as tmp:
        for size in a.sizes.split(","):
            w, h = (int(v) for v in size.split("x"))
            images = frames(w, h, a.frames)
            budget = 1e3 / a.fps
            print(f"{w}x{h}: rgb24 -> yuv420p {convert_ms(images):.2f} ms/frame")
            for vcodec, preset in CANDIDATES:
                settings = VideoSettings(vcodec=vcodec, preset=preset)
                staging = Path(tmp) / f"{vcodec}-{preset}-{size}"
                r = encode_ms(settings, images, a.fps, staging, ticker)
                print(
                    f"  {vcodec:9s} preset {str(preset):9s} CPU {r['cpu']:6.2f} ms/frame"
                    f"  open {r['open']:6.1f} ms (held {r['open_held']:5.1f})"
                    f"  close {r['close']:6.1f} ms (held {r['close_held']:5.1f})"
                    f"  {r['kb']:7.0f} kB  cameras one core affords at {a.fps} fps: "
                    f"{budget / r['cpu']:.1f}"
                )
    ticker.stop()


if __name__ == "__main__":
    main()
