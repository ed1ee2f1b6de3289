"""Dataset writer benchmark: what recording costs the control loop, and how long a save takes.

    python -m bench.bench_dataset [--seconds 30] [--fps 30] [--codecs libsvtav1,h264]

For each codec: two 640x480 cameras, one episode of `--seconds` at `--fps` paced by absolute
deadlines as the control loop does, then `save_episode()`. Reports the cost of `add_frame` on
the calling thread (median, p99, max), frames dropped, the encoder backlog at the end of the
episode, the time `save_episode()` takes to return and the time until the episode is on disk,
then the encoders' unpaced throughput (frames/s per camera, both cameras encoding at once).
Frames are a synthetic scene (gradient, moving square, sensor noise), not random noise.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from core.dataset import DatasetRecorder, dataset_features

SHAPE = (480, 640, 3)
CAMERAS = ("front", "wrist")
MOTORS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]


def scene(n: int, seed: int) -> list[np.ndarray]:
    """`n` distinct frames of a camera-like scene (cycled during the episode)."""
    rng = np.random.default_rng(seed)
    h, w, _ = SHAPE
    base = np.zeros(SHAPE, np.uint8)
    base[:, :, 0] = np.linspace(40, 200, w, dtype=np.uint8)[None, :]
    base[:, :, 1] = np.linspace(60, 160, h, dtype=np.uint8)[:, None]
    base[:, :, 2] = 90
    frames = []
    for i in range(n):
        frame = base.copy()
        x, y = 40 + (i * 9) % (w - 120), 60 + (i * 5) % (h - 120)
        frame[y : y + 80, x : x + 80] = (220, 40, 40)
        noise = rng.integers(-6, 7, SHAPE, dtype=np.int16)
        frames.append(np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8))
    return frames


def features() -> dict:
    observation: dict = {f"{m}.pos": float for m in MOTORS}
    observation.update({name: SHAPE for name in CAMERAS})
    return dataset_features(observation, {f"{m}.pos": float for m in MOTORS})


def paced_episode(
    vcodec: str, seconds: float, fps: int, frames: list[np.ndarray], queue_size: int = 30
) -> dict:
    root = Path(tempfile.mkdtemp(prefix="bench_dataset_"))
    try:
        recorder = DatasetRecorder.create(
            root / "ds",
            "bench/ds",
            fps,
            "so_follower",
            features(),
            vcodec=vcodec,
            queue_size=queue_size,
        )
        # warm-up episode: encoder start-up, first-save work (video info)
        _run(recorder, 1.0, fps, frames)
        recorder.save_episode().wait(120)
        costs, lateness = _run(recorder, seconds, fps, frames)
        backlog = recorder.encoder_backlog
        t0 = time.perf_counter()
        handle = recorder.save_episode()
        returned = time.perf_counter() - t0
        written = handle.wait(120)
        recorder.close()
        assert written.error is None or queue_size == 0, written.error
        costs_us = np.array(costs) * 1e6
        return {
            "add_frame_median_us": float(np.median(costs_us)),
            "add_frame_p99_us": float(np.percentile(costs_us, 99)),
            "add_frame_max_us": float(costs_us.max()),
            "lateness_p99_ms": float(np.percentile(lateness, 99) * 1e3),
            "dropped": recorder.dropped_frames,
            "backlog_at_end": backlog,
            "save_returns_ms": returned * 1e3,
            "save_done_s": written.save_s if written.error is None else float("nan"),
            "frames": written.frames,
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(recorder, seconds, fps, frames):
    recorder.start_episode()
    period = 1 / fps
    costs, lateness = [], []
    state = np.zeros(6, np.float32)
    start = time.perf_counter()
    deadline = start
    for i in range(int(seconds * fps)):
        image = frames[i % len(frames)]
        t0 = time.perf_counter()
        recorder.add_frame(state, state, {"front": image, "wrist": image}, "bench")
        costs.append(time.perf_counter() - t0)
        deadline += period
        now = time.perf_counter()
        if deadline > now:
            time.sleep(deadline - now)
        lateness.append(max(0.0, time.perf_counter() - deadline))
    return costs, lateness


def throughput(vcodec: str, frames: list[np.ndarray], count: int) -> float:
    root = Path(tempfile.mkdtemp(prefix="bench_dataset_"))
    try:
        recorder = DatasetRecorder.create(
            root / "ds",
            "bench/ds",
            30,
            "so_follower",
            features(),
            vcodec=vcodec,
            queue_size=count + 1,
        )
        recorder.start_episode()
        state = np.zeros(6, np.float32)
        t0 = time.perf_counter()
        for i in range(count):
            image = frames[i % len(frames)]
            recorder.add_frame(state, state, {"front": image, "wrist": image}, "bench")
        written = recorder.save_episode().wait(600)
        elapsed = time.perf_counter() - t0
        recorder.close()
        assert written.error is None, written.error
        return count / elapsed
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--codecs", default="libsvtav1,h264")
    args = parser.parse_args()
    frames = scene(60, 0)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"2 cameras {SHAPE[1]}x{SHAPE[0]}, {args.seconds:g} s episode at {args.fps} fps")
    logging.getLogger("core.dataset").setLevel(logging.CRITICAL)  # the baseline saves nothing
    base = paced_episode("libsvtav1", args.seconds, args.fps, frames, queue_size=0)
    logging.getLogger("core.dataset").setLevel(logging.NOTSET)
    print(
        f"{'no video':10s} add_frame median {base['add_frame_median_us']:.0f} us, "
        f"p99 {base['add_frame_p99_us']:.0f} us | loop lateness p99 "
        f"{base['lateness_p99_ms']:.2f} ms (baseline: the same loop, every frame refused)"
    )
    for vcodec in args.codecs.split(","):
        r = paced_episode(vcodec, args.seconds, args.fps, frames)
        print(
            f"{vcodec:10s} add_frame median {r['add_frame_median_us']:.0f} us, "
            f"p99 {r['add_frame_p99_us']:.0f} us, max {r['add_frame_max_us']:.0f} us | "
            f"loop lateness p99 {r['lateness_p99_ms']:.2f} ms | dropped {r['dropped']} | "
            f"backlog at end {r['backlog_at_end']} | save_episode() returns in "
            f"{r['save_returns_ms']:.2f} ms, episode on disk after {r['save_done_s']:.3f} s "
            f"({r['frames']} frames)"
        )
        fps = throughput(vcodec, frames, 300)
        print(f"{vcodec:10s} unpaced encoding: {fps:.0f} frames/s per camera (2 cameras at once)")


if __name__ == "__main__":
    main()
