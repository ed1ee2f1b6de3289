"""Inference-log cost: what `log.record(step)` costs the control thread, how many steps per
second the writer thread turns into CSV rows, and a paced loop's lateness with and without logs.

Run: python -m bench.bench_logs  (prints a Markdown section; add it to bench/results/logs.md)
"""

from __future__ import annotations

import gc
import platform
import statistics
import tempfile
import time
from pathlib import Path

from core.logs import InferenceLog
from core.step import ControlStep, OutputStats, PolicyStep

MOTORS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
STATE = [f"{m}.pos" for m in MOTORS]


def make_step(i: int) -> ControlStep:
    obs = {}
    for k, m in enumerate(MOTORS):
        obs.update({f"{m}.pos": 10.0 * k + i * 0.01, f"{m}.load": 3.0, f"{m}.temperature": 35.0,
                    f"{m}.voltage": 12.1, f"{m}.current": 120.0})  # fmt: skip
    action = {n: obs[n] + 0.5 for n in STATE}
    policy = PolicyStep(inference_ms=0.4, forward_ms=None, queue_size=50,
                        inputs={n: obs[n] for n in STATE},
                        output=OutputStats(0.1, 1.0, -2.0, 2.0))  # fmt: skip
    return ControlStep(
        step=i, t=i / 30, wall_time=time.time(), episode_index=0, frame_index=i,
        phase="recording", period_s=1 / 30, lateness_s=0.0, observation=obs,
        action=action, source="policy", policy=policy, task="Pick the cube",
    )  # fmt: skip


def open_log(root: Path, **kw) -> InferenceLog:
    return InferenceLog.open(
        root, repo_id="bench/logs", robot_type="so101_follower",
        motors=MOTORS, state_names=STATE, action_names=STATE, **kw,
    )  # fmt: skip


def record_cost(root: Path, n: int = 30_000) -> tuple[float, float, float]:
    """(mean ns per record(), p99 ns, ratio to an empty method call)."""
    steps = [make_step(i) for i in range(1000)]
    log = open_log(root, max_queue=n + 10, flush_interval_s=3600)

    class Empty:
        def record(self, step):  # the cheapest possible call, for the ratio
            pass

    empty = Empty()
    gc.disable()
    t0 = time.perf_counter_ns()
    for i in range(n):
        empty.record(steps[i % 1000])
    base = (time.perf_counter_ns() - t0) / n
    samples = []
    t0 = time.perf_counter_ns()
    for i in range(n):
        log.record(steps[i % 1000])
    mean = (time.perf_counter_ns() - t0) / n
    gc.enable()
    log.close(timeout=120)
    log2 = open_log(root, max_queue=n + 10, flush_interval_s=3600)
    for i in range(10_000):
        a = time.perf_counter_ns()
        log2.record(steps[i % 1000])
        samples.append(time.perf_counter_ns() - a)
    log2.close(timeout=120)
    p99 = statistics.quantiles(samples, n=100)[98]
    return mean, p99, mean / base


def writer_rate(root: Path, n: int = 60_000) -> float:
    """Steps per second the writer turns into rows (each step: 3 rows, one per file)."""
    steps = [make_step(i) for i in range(n)]
    log = open_log(root, max_queue=n + 10, flush_interval_s=3600)
    for s in steps:
        log.record(s)
    t0 = time.perf_counter()
    assert log.flush(wait=True, timeout=120)
    elapsed = time.perf_counter() - t0
    log.close()
    assert log.rows_written == n
    return n / elapsed


def paced_lateness(
    root: Path | None, hz: float = 30.0, seconds: float = 6.0
) -> tuple[float, float]:
    """(p50, p99) lateness in ms of a loop on absolute deadlines, logging each step or not."""
    log = open_log(root) if root is not None else None
    period = 1.0 / hz
    lateness = []
    next_t = time.perf_counter() + period
    for i in range(int(hz * seconds)):
        while (now := time.perf_counter()) < next_t:
            time.sleep(max(0.0, next_t - now - 0.0005))
        lateness.append((now - next_t) * 1000)
        if log is not None:
            log.record(make_step(i))
        next_t += period
    if log is not None:
        log.close()
    return statistics.median(lateness), statistics.quantiles(lateness, n=100)[98]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        mean, p99, ratio = record_cost(root / "a")
        rate = writer_rate(root / "b")
        off = paced_lateness(None)
        on = paced_lateness(root / "c")
    print(f"## Inference logs ({time.strftime('%Y-%m-%d')})\n")
    print(f"Machine: {platform.machine()}, {platform.system()} {platform.release()}, "
          f"Python {platform.python_version()}. Command: `python -m bench.bench_logs`. "
          "SO-101 layout (6 motors, 5 diagnostics each, policy row every step).\n")  # fmt: skip
    print("| measure | value |\n|---|---|")
    print(f"| `log.record(step)` on the caller, mean | {mean:.0f} ns ({ratio:.1f}× an empty "
          "method call) |")  # fmt: skip
    print(f"| `log.record(step)` on the caller, p99 | {p99:.0f} ns |")
    print(f"| writer throughput | {rate:,.0f} steps/s ({3 * rate:,.0f} rows/s over 3 files) |")
    print(f"| headroom at 30 Hz | {rate / 30:,.0f}× |")
    print(f"| paced 30 Hz loop lateness p50 / p99, no log | {off[0]:.3f} / {off[1]:.3f} ms |")
    print(f"| same with `--log=true` | {on[0]:.3f} / {on[1]:.3f} ms (p99 ratio "
          f"{on[1] / off[1] if off[1] else float('nan'):.2f}) |")  # fmt: skip


if __name__ == "__main__":
    main()
