"""Chunk time of the default-size ACT on ONNX Runtime against PyTorch, in the same run.

ACT with lerobot's default hyperparameters (51.6 M parameters, random weights), one 640x480
camera, CPU, both runtimes given the same intra-op threads; forwards alternate between them on
the same observations so the machine's load falls on all alike. ONNX Runtime runs twice from one
export: as sessions run it (idle pool threads spinning, at nice +5) and with its pool sleeping
(`allow_spinning=0`). Also the largest difference between the chunks.
Run: `python -m bench.bench_onnx [--threads 2] [--runs 12] [--append]`.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.bench_policy import SimulatedArm, build_checkpoint
from bench.report import publish

RESULTS = Path(__file__).resolve().parent / "results" / "onnx.md"


def timed(policy, observation) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    chunk = policy.predict_chunk(observation)
    return (time.perf_counter() - started) * 1000, chunk


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=12, help="forwards per runtime")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--append", action="store_true", help=f"append the table to {RESULTS}")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    import onnxruntime
    import torch

    from core.policy.export import export_policy
    from core.policy.onnx_act import OnnxACTPolicy
    from core.policy.policy import ACTPolicy

    load = os.getloadavg()[0]
    started = time.perf_counter()
    checkpoint, params = build_checkpoint(args.height, args.width)
    with tempfile.TemporaryDirectory(prefix="bench-onnx-") as scratch:
        folder = export_policy(checkpoint, Path(scratch) / "act")
        export_s = time.perf_counter() - started
        policies = {
            "onnx": OnnxACTPolicy(folder, threads=args.threads),
            "sleeping": OnnxACTPolicy(folder, threads=args.threads, spin=False),
        }
    policies["torch"] = ACTPolicy(checkpoint, torch.device("cpu"), threads=args.threads)
    arm = SimulatedArm(None, args.height, args.width, 30)
    times: dict[str, list[float]] = {k: [] for k in policies}
    diff = 0.0
    for run in range(args.runs + 1):  # the first of each is a warm-up, not counted
        observation = arm.observe(run * 7)
        chunks = {}
        for name in ("torch", "onnx", "sleeping"):
            ms, chunks[name] = timed(policies[name], observation)
            if run:
                times[name].append(ms)
        diff = max(diff, *(float(np.abs(chunks["torch"] - chunks[k]).max()) for k in chunks))
    t, o, s = (statistics.median(times[k]) for k in ("torch", "onnx", "sleeping"))
    text = "\n".join([
        f"## ACT default size ({params / 1e6:.1f} M parameters), one {args.width}x{args.height} "
        f"camera, CPU, {args.threads} intra-op threads, {args.runs} forwards each",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} "
        f"allowed), Python {platform.python_version()}, torch {torch.__version__}, onnxruntime "
        f"{onnxruntime.__version__}; load average {load:.2f} before the run (shared machine). "
        f"Command: `python -m bench.bench_onnx --threads {args.threads} --runs {args.runs}`.",
        "",
        "| runtime | chunk median | min | max |",
        "|---|---|---|---|",
        *(f"| {k} | {statistics.median(v):.0f} ms | {min(v):.0f} ms | {max(v):.0f} ms |"
          for k, v in (("PyTorch", times["torch"]), ("ONNX Runtime", times["onnx"]),
                       ("ONNX Runtime, pool sleeping", times["sleeping"]))),
        "",
        f"ONNX / PyTorch median chunk time: **{o / t:.2f}x** ({s / t:.2f}x with the pool "
        f"sleeping); largest difference from PyTorch's chunks {diff:.2g}; export + verification "
        f"{export_s:.1f} s (once per checkpoint).",
        "",
    ])  # fmt: skip
    publish(text, RESULTS, args.append)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
