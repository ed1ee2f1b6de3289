"""A whole recording session on the emulators, measured: step lateness, missed deadlines, dropped
frames, episode save time and memory per episode.

    python -m bench.bench_session                 # 2 × 640x480 sim cameras, libsvtav1, 30 Hz, 2 min
    python -m bench.bench_session --vcodec h264
    python -m bench.bench_session --compare-log   # the same session with and without --log=true
    python -m bench.bench_session --max-rate      # highest loop rate without cameras
    python -m bench.bench_session --one-core --rerecord   # + a re-record in the first episode
    python -m bench.bench_session --variants auto,normal  # real-time control thread, then not

Every run also reports the boundary steps as the arm sees them (`bench.arm_side`): the latest
goal position around the session's start, each episode's end (save, reset start), each
episode's start and a re-record, measured on the emulated follower's side of the wire.

The arm and the leader are STS3215 emulators in their own processes (`port=sim`), the cameras
render the arm in the session's process, as a real camera's reader thread would run there.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import arm_side, thread_cpu
from core import messages as m
from core.config import parse_record_args
from core.config.tree import MAX_FPS
from core.session import Session

CAMERA = '"{name}": {{"type": "sim", "width": {w}, "height": {h}, "fps": {fps}}}'


def session_args(
    root: Path,
    fps: int,
    seconds: float,
    episodes: int,
    cameras: int,
    vcodec: str,
    log: bool,
    size: tuple[int, int] = (640, 480),
    reset: float = 2.0,
) -> list[str]:
    w, h = size
    cams = ", ".join(CAMERA.format(name=f"cam{i}", w=w, h=h, fps=fps) for i in range(cameras))
    return [
        "--robot.type=so101_follower",
        "--robot.port=sim",
        "--robot.id=bench",
        f"--robot.cameras={{{cams}}}",
        "--teleop.type=so101_leader",
        "--teleop.port=sim",
        "--teleop.id=bench_leader",
        "--dataset.repo_id=local/bench",
        f"--dataset.root={root}",
        "--dataset.single_task=Benchmark",
        f"--dataset.fps={fps}",
        f"--dataset.episode_time_s={seconds}",
        f"--dataset.reset_time_s={reset:g}",
        f"--dataset.num_episodes={episodes}",
        f"--dataset.vcodec={vcodec}",
        "--dataset.push_to_hub=false",
        "--play_sounds=false",
        f"--log={str(log).lower()}",
    ]


class GcPauses:
    """How long each garbage collection ran (any thread's), by generation."""

    def __init__(self):
        self.pauses: list[tuple[int, float]] = []
        self._began = 0.0
        gc.callbacks.append(self._note)

    def _note(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._began))

    def stop(self) -> None:
        gc.callbacks.remove(self._note)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(
    args: list[str],
    arm_cores: set[int] | None = None,
    rerecord_at: int | None = None,
    switch_ms: float | None = None,
) -> dict:
    """`rerecord_at`: the frame of the first episode at which the operator asks to re-record;
    `switch_ms`: the interpreter's switch interval during the session instead of Python's 5 ms
    (to measure what a shorter one gives)."""
    writes_dir = Path(tempfile.mkdtemp(prefix="arm-writes-"))
    arm_side.record_writes_in(writes_dir)
    session = Session(parse_record_args(args))
    lateness: list[float] = []
    marks: list[arm_side.StepMark] = []
    step_done = session.step_done
    asked = [rerecord_at is None]

    def collect(step):
        if step.phase == "recording":
            lateness.append(step.lateness_s * 1e3)
            if not asked[0] and step.frame_index >= (rerecord_at or 0):
                asked[0] = True
                session.send(m.Rerecord())
        start = session.t0 + step.t
        marks.append(arm_side.StepMark(start - step.lateness_s, start, step.phase, step.event))
        step_done(step)

    session.step_done = collect
    cpu = thread_cpu.ThreadCpu()
    session.start()
    collections = GcPauses()  # from the first step (the setup's own are before it)
    if switch_ms is not None:
        sys.setswitchinterval(switch_ms / 1e3)
    if arm_cores:
        from bench.pin import move_children

        move_children(arm_cores)
    saves, rss, frames = [], [], []
    while True:
        ended = session.wait(0.2)
        cpu.sample()
        for event in session.events():
            if isinstance(event, m.EpisodeSaved):
                saves.append(event.save_s)
                frames.append(event.frames)
                rss.append(rss_mb())
        if ended:
            break
    collections.stop()
    session.close()
    writes = arm_side.follower_writes(writes_dir)
    shutil.rmtree(writes_dir, ignore_errors=True)
    t = session.snapshot().timing
    lat = np.array(lateness)
    return {
        "steps": len(lat),
        "p50": float(np.percentile(lat, 50)),
        "p99": float(np.percentile(lat, 99)),
        "max": float(lat.max()),
        "missed": int((lat > 1e3 / session.config.dataset.fps).sum()),
        "dropped": t.dropped_frames,
        "saves": saves,
        "frames": frames,
        "threads": session.parts.threads.describe()
        if session.parts and session.parts.threads
        else "",
        "control": session.priority.describe() if session.priority else "",
        "rss": rss,
        "cpu": cpu.by_name(),
        "gc": collections.pauses,
        "boundaries": arm_side.boundary_report(marks, writes) if len(writes) else {},
    }


def show(label: str, r: dict) -> None:
    rss = ", ".join(f"{v:.0f}" for v in r["rss"])
    print(
        f"{label:28s} steps {r['steps']:5d}  lateness p50 {r['p50']:.2f} ms  p99 {r['p99']:.2f} ms"
        f"  max {r['max']:.1f} ms  late>period {r['missed']}  dropped {r['dropped']}"
        f"  saves [{', '.join(f'{v:.2f}' for v in r['saves'])}] s  RSS/episode MB [{rss}]"
        f"  frames/episode {r['frames']}  threads: {r['threads']}"
    )
    print(f"{'':28s} control thread: {r['control']}")
    arm = "  ".join(f"{kind} {ms:.2f}" for kind, ms in r["boundaries"].items())
    print(f"{'':28s} arm side, latest step (ms over the median delay): {arm}")
    cpu = ", ".join(f"{k} {v:.1f}" for k, v in sorted(r["cpu"].items(), key=lambda kv: -kv[1]))
    print(f"{'':28s} CPU s by thread: {cpu}")
    if r["gc"]:
        gen, longest = max(r["gc"], key=lambda p: p[1])
        print(
            f"{'':28s} garbage collections while stepping {len(r['gc'])}, "
            f"longest {longest * 1e3:.2f} ms (generation {gen}; each holds the GIL)"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=120.0, help="recorded time in all")
    p.add_argument("--episodes", type=int, default=4)
    p.add_argument("--cameras", type=int, default=2)
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--vcodec", default="libsvtav1")
    p.add_argument("--compare-log", action="store_true")
    p.add_argument("--max-rate", action="store_true")
    p.add_argument("--reset", type=float, default=2.0, help="reset time between episodes (s)")
    p.add_argument("--size", default="640x480", help="camera frame size, WxH")
    p.add_argument(
        "--rerecord", action="store_true", help="re-record the first episode half-way through it"
    )
    p.add_argument(
        "--variants",
        default="auto",
        help="sessions run one after the other, each --control_priority[/switch interval ms]: "
        "auto,normal compares real-time with normal priority; auto/0.5 sets a 0.5 ms switch "
        "interval",
    )
    p.add_argument(
        "--one-core",
        action="store_true",
        help="lerecord pinned to one core (as taskset -c 0), the emulators on the others",
    )
    a = p.parse_args()
    arm_cores = None
    if a.one_core:
        from bench.pin import pin_to_one_core

        core, arm_cores = pin_to_one_core()
        print(f"lerecord on core {core}, emulators on {sorted(arm_cores)}")
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        if a.max_rate:
            for fps in (60, 120, MAX_FPS):  # the highest rate the config accepts
                r = run(session_args(Path(tmp) / f"r{fps}", fps, 5, 1, 0, a.vcodec, False))
                show(f"{fps} Hz, no camera", r)
            return
        per = a.seconds / a.episodes
        size = tuple(int(v) for v in a.size.split("x"))
        rerecord_at = int(per * a.fps / 2) if a.rerecord else None
        for n, variant in enumerate(a.variants.split(",")):
            asked, _, switch = variant.partition("/")
            base = session_args(
                Path(tmp) / f"a{n}",
                a.fps,
                per,
                a.episodes,
                a.cameras,
                a.vcodec,
                False,
                size,
                a.reset,
            )
            base.append(f"--control_priority={asked}")
            r = run(base, arm_cores, rerecord_at, float(switch) if switch else None)
            print(f"load {os.getloadavg()[0]:.1f}")
            show(f"{a.cameras} cams {a.vcodec} {a.fps} Hz {variant}", r)
        if a.compare_log:
            with_log = session_args(
                Path(tmp) / "b", a.fps, per, a.episodes, a.cameras, a.vcodec, True
            )
            time.sleep(1)
            show("  same, --log=true", run(with_log))


if __name__ == "__main__":
    main()
