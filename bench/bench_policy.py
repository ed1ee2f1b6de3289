"""Sync vs async policy inference in a 30 Hz control loop: does the arm get an action on time?

Default-size ACT (dim 512, chunk 100, n_action_steps 100, random weights, lerobot's defaults)
with one 640x480 camera, on the CPU. Each step observes the emulated SO-101 follower (the real
Feetech driver against the servo emulator, a simulated camera rendering the arm), asks the
runner for the action and sends it, at `--fps` for `--duration` seconds per mode, on absolute
deadlines (`--arm simulated`: observations made in memory instead). A step misses its deadline
when its action is handed over after the next step was due.
Run: `python -m bench.bench_policy [--duration 60] [--append]`.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench.report import publish

RESULTS = Path(__file__).resolve().parent / "results" / "policy.md"


def build_checkpoint(height: int, width: int):
    """ACT with lerobot's default hyperparameters and random weights (unit statistics), as a
    read checkpoint; returns (checkpoint, parameters)."""
    import torch

    from core.policy.act import ACT
    from core.policy.checkpoint import Checkpoint, NormSpec
    from core.policy.config import ACTConfig, PolicyFeature

    inputs = {
        "observation.state": PolicyFeature("STATE", (6,)),
        "observation.images.front": PolicyFeature("VISUAL", (3, height, width)),
    }
    outputs = {"action": PolicyFeature("ACTION", (6,))}
    config = ACTConfig(input_features=inputs, output_features=outputs)
    torch.manual_seed(0)
    weights = {f"model.{k}": v for k, v in ACT(config).state_dict().items()}
    unit = {"mean": torch.zeros(6), "std": torch.ones(6)}
    stats = {
        "observation.state": unit,
        "action": unit,
        "observation.images.front": {
            "mean": torch.full((3, 1, 1), 0.5),
            "std": torch.ones(3, 1, 1),
        },
    }
    mapping = config.normalization_mapping
    checkpoint = Checkpoint(
        Path("<random default ACT>"),
        config,
        weights,
        NormSpec(inputs, mapping, stats),
        NormSpec(outputs, mapping, stats),
    )
    return checkpoint, sum(v.numel() for v in weights.values())


def build_policy(
    height: int,
    width: int,
    backend: str = "torch",
    threads: int | None = None,
    spin: bool | None = None,
):
    """The random default-size ACT on PyTorch, or exported and run on ONNX Runtime (`spin`:
    its idle pool threads spin, None: as sessions do)."""
    import tempfile

    import torch

    from core.policy.export import export_policy
    from core.policy.onnx_act import OnnxACTPolicy
    from core.policy.policy import ACTPolicy

    checkpoint, params = build_checkpoint(height, width)
    if backend == "onnx":  # the session holds the model: the export folder can go at once
        with tempfile.TemporaryDirectory(prefix="bench-onnx-") as scratch:
            folder = export_policy(checkpoint, Path(scratch) / "act")
            return OnnxACTPolicy(folder, threads=threads, spin=spin), params
    return ACTPolicy(checkpoint, torch.device("cpu"), threads=threads), params


def rss_mb() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return float("nan")


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


class SimulatedArm:
    """Observations made in memory: a moving state and camera frames prepared in advance."""

    label = "simulated observations"

    def __init__(self, policy, height: int, width: int, fps: float):
        rng = np.random.default_rng(0)
        self.frames = [rng.integers(0, 256, (height, width, 3), np.uint8) for _ in range(8)]
        self.fps = fps

    def observe(self, step: int) -> dict[str, np.ndarray]:
        return {
            "observation.state": np.sin(step / self.fps + np.arange(6)).astype(np.float32),
            "observation.images.front": self.frames[step % len(self.frames)],
        }

    def send(self, action: np.ndarray | None) -> None:
        pass

    def close(self) -> None:
        pass


class EmulatedArm:
    """lerecord's emulated SO-101 follower (the real Feetech driver against the servo emulator,
    in its own process) with a simulated camera rendering the arm; the actions are sent."""

    label = "emulated SO-101 follower + simulated camera"

    def __init__(self, policy, height: int, width: int, fps: float):
        import tempfile

        from core.policy import match_features
        from hardware.sim.camera import SimCameraConfig
        from hardware.so_arm.follower import So101FollowerConfig, SoFollower

        os.environ.setdefault("HF_LEROBOT_CALIBRATION", tempfile.mkdtemp(prefix="bench-cal-"))
        camera = SimCameraConfig(width=width, height=height, fps=int(fps))
        config = So101FollowerConfig(port="sim", id="bench", cameras={"front": camera})
        self.robot = SoFollower(config)
        robot = self.robot
        self.mapping = match_features(policy, robot.observation_features, robot.action_features)
        robot.connect()
        self.failed_reads = 0
        self._last: dict[str, np.ndarray] | None = None

    def observe(self, step: int) -> dict[str, np.ndarray]:
        from hardware.errors import DeviceError

        try:
            self._last = self.mapping.to_policy(self.robot.get_observation())
        except DeviceError:  # the emulator process starved of CPU; a real bus would not be
            if self._last is None:
                raise
            self.failed_reads += 1
        return self._last

    def send(self, action: np.ndarray | None) -> None:
        if action is not None:
            self.robot.send_action(self.mapping.to_robot(action))

    def close(self) -> None:
        self.robot.disconnect()


class NoPolicy:
    """The same loop with no model at all: how late the machine alone makes the steps."""

    def warmup(self, observation: dict) -> float:
        return math.nan

    def start_episode(self, observation: dict) -> None:
        pass

    def act(self, observation: dict, step: int):
        from core.step import PolicyStep

        nan = math.nan
        return None, PolicyStep(0.0, None, 0, {}, nan, nan, nan, nan, origin="none")

    def close(self) -> None:
        pass


def run_mode(policy, mode: str, fps: float, duration: float, arm):
    from core.policy import PolicyRunner

    if mode == "none":
        runner = NoPolicy()
    else:
        runner = PolicyRunner(policy, fps, async_mode=mode == "async")
    warm_ms = runner.warmup(arm.observe(0))
    period, steps = 1 / fps, int(duration * fps)
    records, delivered = [], []
    failed_before = getattr(arm, "failed_reads", 0)
    runner.start_episode(arm.observe(0))  # the first chunk before the clock starts, as sessions do
    start = time.perf_counter()
    for step in range(steps):
        due = start + step * period
        now = time.perf_counter()
        if now < due:
            time.sleep(due - now)
        action, record = runner.act(arm.observe(step), step)
        arm.send(action)
        delivered.append(time.perf_counter() - start)
        records.append(record)
    runner.close()
    due = np.arange(steps) * period
    delivered = np.asarray(delivered)
    missed = delivered > due + period
    forwards = [r.forward_ms for r in records if r.forward_ms is not None]
    inference = [r.inference_ms for r in records]
    arrivals = [r.dropped for r in records if r.forward_ms is not None]
    return {
        "mode": mode if mode != "none" else "no policy",
        "threads": policy.threads or __import__("torch").get_num_threads(),
        "runtime": policy.where,
        "steps": steps,
        "missed": int(missed.sum()),
        "missed_pct": 100 * missed.mean(),
        "stall_ms": 1000 * float(np.diff(np.concatenate([[0.0], delivered])).max()),
        "max_late_ms": 1000 * float((delivered - due - period).max()),
        "forward_ms": statistics.median(forwards) if forwards else float("nan"),
        "forward_max_ms": max(forwards) if forwards else float("nan"),
        "warmup_ms": warm_ms,
        "act_p50_ms": float(np.percentile(inference, 50)),
        "act_max_ms": float(max(inference)),
        "chunks": len(forwards),
        "dropped": statistics.mean(arrivals) if arrivals else 0.0,
        "starved": sum(r.origin == "hold" for r in records),
        "waited": sum(r.origin == "wait" for r in records),
        "failed_reads": getattr(arm, "failed_reads", 0) - failed_before,
    }


def report(rows: list[dict], args, params: int, memory: dict) -> str:
    lines = [
        f"## ACT default size, one {args.width}x{args.height} camera, CPU, "
        f"{args.fps:g} Hz for {args.duration:g} s per mode",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, torch "
        f"{__import__('torch').__version__}. Command: `python -m bench.bench_policy "
        f"--duration {args.duration:g} --arm {args.arm} --backend {args.backend}"
        f"{' --threads ' + str(args.threads) if args.threads else ''}"
        f"{' --no-spin' if args.no_spin else ''}` "
        f"({args.arm_label}), {len(os.sched_getaffinity(0))} core(s) allowed. "
        f"Model {params / 1e6:.1f} M parameters. Load average "
        f"{memory['load']:.2f} before the run (other processes share the cores).",
        "",
        "| mode | runtime | threads | steps | missed deadlines | longest stall | latest action "
        "| forward median / max | act() median / max | chunks | dropped per chunk "
        "| starved steps | waiting steps | failed arm reads |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['runtime']} | {r['threads']} | {r['steps']} | {r['missed']} "
            f"({r['missed_pct']:.2f} %) | {r['stall_ms']:.0f} ms | {r['max_late_ms']:.0f} ms "
            f"| {r['forward_ms']:.0f} / {r['forward_max_ms']:.0f} ms "
            f"| {r['act_p50_ms']:.2f} / {r['act_max_ms']:.1f} ms | {r['chunks']} "
            f"| {r['dropped']:.1f} | {r['starved']} | {r['waited']} | {r['failed_reads']} |"
        )
    lines += [
        "",
        f"Memory: RSS {memory['before']:.0f} MB before loading, {memory['loaded']:.0f} MB with "
        f"the model loaded, peak {memory['peak']:.0f} MB.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per mode")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument(
        "--modes", default="none,sync,async", help="none = the same loop without a policy"
    )
    parser.add_argument(
        "--arm",
        choices=("emulated", "simulated"),
        default="emulated",
        help="the emulated SO-101 (real driver, servo emulator, sim camera) or in-memory data",
    )
    parser.add_argument("--backend", choices=("torch", "onnx"), default="torch")
    parser.add_argument(
        "--one-core", action="store_true", help="this process on one core, the emulator on another"
    )
    parser.add_argument("--threads", type=int, default=0, help="0: the session's thread budget")
    parser.add_argument(
        "--no-spin", action="store_true", help="ONNX Runtime's idle pool threads sleep"
    )
    parser.add_argument("--append", action="store_true", help=f"append the table to {RESULTS}")
    args = parser.parse_args(argv)
    arm_cores = None
    if args.one_core:
        from bench.pin import pin_to_one_core

        _, arm_cores = pin_to_one_core()
    logging.basicConfig(level=logging.WARNING)
    memory = {"before": rss_mb(), "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else 0}
    from core.threads import session_budget

    threads = args.threads or session_budget(cameras=0).policy
    spin = False if args.no_spin else None
    policy, params = build_policy(args.height, args.width, args.backend, threads, spin)
    memory["loaded"] = rss_mb()
    arm_class = EmulatedArm if args.arm == "emulated" else SimulatedArm
    arm = arm_class(policy, args.height, args.width, args.fps)
    if arm_cores:
        from bench.pin import move_children

        move_children(arm_cores)
    rows = []
    try:
        for mode in args.modes.split(","):
            rows.append(run_mode(policy, mode, args.fps, args.duration, arm))
    finally:
        arm.close()
    memory["peak"] = peak_rss_mb()
    args.arm_label = arm.label
    text = report(rows, args, params, memory)
    publish(text, RESULTS, args.append)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
