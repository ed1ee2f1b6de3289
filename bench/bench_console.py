"""The console's cost: the same simulated session (two sim cameras, video, 30 Hz, SO-101 leader
and follower emulators) recorded headless and in the full-screen console (in a real terminal,
tmux 120x40), alternately. Reports the control steps' lateness p50 / p99 in each mode and their
ratio, dropped frames, and the CPU used by the console process itself (the engine runs in its
child) at its 10 Hz refresh.

Run: python -m bench.bench_console [--rounds 2] [--episode-s 15]
(prints a Markdown section; add it to bench/results/console.md). Needs tmux.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.session import Session

ROOT = Path(__file__).resolve().parents[1]
SIM_CAMERA = "{type: sim, width: 640, height: 480, fps: 30}"


def session_flags(root: Path, episode_s: float) -> list[str]:
    return [
        "--robot.type=so101_follower", "--robot.port=sim", "--robot.id=bench_follower",
        f"--robot.cameras={{front: {SIM_CAMERA}, wrist: {SIM_CAMERA}}}",
        "--teleop.type=so101_leader", "--teleop.port=sim", "--teleop.id=bench_leader",
        "--dataset.repo_id=local/bench_console", "--dataset.single_task=Pick the cube",
        f"--dataset.root={root}", "--dataset.num_episodes=2",
        f"--dataset.episode_time_s={episode_s}", "--dataset.reset_time_s=2",
        "--dataset.push_to_hub=false", "--play_sounds=false",
    ]  # fmt: skip


class MeasuredSession(Session):
    """The real session, noting every step's lateness; written as JSON when it closes."""

    def __init__(self, config, out: str):
        super().__init__(config)
        self.out = out
        self.lateness_ms: list[float] = []

    def step_done(self, step) -> None:
        self.lateness_ms.append(step.lateness_s * 1000)
        super().step_done(step)

    def close(self, timeout: float = 30.0) -> None:
        super().close(timeout)
        dropped = self.snapshot().timing.dropped_frames
        Path(self.out).write_text(
            json.dumps({"lateness_ms": self.lateness_ms, "dropped_frames": dropped})
        )


def measured_session(out: str, config) -> MeasuredSession:
    return MeasuredSession(config, out)


# ---- the two clients, each in its own process ---------------------------------------------


def run_headless(flags: list[str], out: str) -> None:
    from core.config import parse_record_args
    from core.headless import run_headless as headless

    config = parse_record_args(flags)
    with open(os.devnull, "w") as quiet:
        headless(config, out=quiet, session=MeasuredSession(config, out))


def run_console(flags: list[str], out: str) -> None:
    from core.config import parse_record_args
    from core.remote import EngineProcess
    from tui.app import UI_NICE, make_app

    config = parse_record_args(flags)
    engine = EngineProcess(config, functools.partial(measured_session, out))
    app = make_app(engine, ui_nice=int(os.environ.get("BENCH_UI_NICE", UI_NICE)))
    started = time.monotonic()
    app.run()
    wall = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    engine.close()
    Path(out + ".app").write_text(
        json.dumps({"cpu_s": usage.ru_utime + usage.ru_stime, "wall_s": wall})
    )


def _child(mode: str, flags: list[str], out: str) -> list[str]:
    return [sys.executable, "-m", "bench.bench_console", f"--{mode}-child", out, "--", *flags]


def measure_headless(flags: list[str], out: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run(
        _child("headless", flags, str(out)),
        env=env,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    return json.loads(out.read_text())


def measure_console(flags: list[str], out: Path) -> dict:
    socket = f"lerecord-bench-{os.getpid()}"
    command = " ".join(f"'{a}'" for a in _child("console", flags, str(out)))
    shell = f"cd {ROOT} && env -u COLUMNS -u LINES PYTHONPATH={ROOT} {command}"
    tmux = ["tmux", "-L", socket]
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "b", "-x", "120", "-y", "40", shell], check=True
    )
    # The terminal's own work (parsing and drawing the screen) runs on the operator's machine
    # in an SSH session; tmux stands in for that terminal here, so it yields like the console.
    server = subprocess.run([*tmux, "display", "-p", "#{pid}"], capture_output=True, text=True)
    if server.stdout.strip().isdigit():
        os.setpriority(os.PRIO_PROCESS, int(server.stdout), 10)
    try:
        app_file = Path(str(out) + ".app")
        deadline = time.monotonic() + 600
        while not app_file.exists() and time.monotonic() < deadline:
            screen = subprocess.run(
                [*tmux, "capture-pane", "-p", "-t", "b"], capture_output=True, text=True
            ).stdout
            if "session ended" in screen:
                subprocess.run([*tmux, "send-keys", "-t", "b", "q"])
            time.sleep(2.0)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    result = json.loads(out.read_text())
    result.update(json.loads(app_file.read_text()))
    return result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--episode-s", type=float, default=15.0)
    parser.add_argument("--headless-child")
    parser.add_argument("--console-child")
    parser.add_argument("flags", nargs="*")
    args = parser.parse_args()
    if args.headless_child:
        return run_headless(args.flags, args.headless_child)
    if args.console_child:
        return run_console(args.flags, args.console_child)
    if shutil.which("tmux") is None:
        print("bench_console: skipped, it needs tmux (a real terminal for the console)")
        return
    results: dict[str, list[dict]] = {"headless": [], "console": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for mode, measure in (("headless", measure_headless), ("console", measure_console)):
                root = Path(tmp) / f"{mode}{r}"
                flags = session_flags(root / "dataset", args.episode_s)
                results[mode].append(measure(flags, Path(tmp) / f"{mode}{r}.json"))
    report(results, args)


def report(results: dict[str, list[dict]], args) -> None:
    def late(mode: str, q: float) -> float:
        return statistics.mean(percentile(r["lateness_ms"], q) for r in results[mode])

    p99 = {mode: late(mode, 0.99) for mode in results}
    console = results["console"]
    cpu = statistics.mean(r["cpu_s"] / r["wall_s"] * 100 for r in console)
    steps = sum(len(r["lateness_ms"]) for rs in results.values() for r in rs)
    print(f"## Console vs headless ({time.strftime('%Y-%m-%d')})\n")
    print(
        f"Machine: {platform.machine()}, {platform.system()} {platform.release()}, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores. Command: `python -m "
        f"bench.bench_console --rounds {args.rounds} --episode-s {args.episode_s}`. Session: "
        f"SO-101 follower and leader emulators, two sim cameras 640x480, video, 30 Hz, 2 "
        f"episodes of {args.episode_s:.0f} s + 2 s reset, {args.rounds} alternated rounds per "
        f"mode ({steps} steps in all). Console in tmux 120x40 (the tmux server at nice 10, "
        "standing in for the operator's terminal on another machine), refreshing at 10 Hz.\n"
    )
    print("| measure | headless | console |")
    print("|---|---|---|")
    print(f"| step lateness p50 | {late('headless', 0.5):.3f} ms | {late('console', 0.5):.3f} ms |")
    print(f"| step lateness p99 | {p99['headless']:.3f} ms | {p99['console']:.3f} ms |")
    print(f"| p99 ratio console / headless | | {p99['console'] / p99['headless']:.2f} |")
    dropped = {m: sum(r["dropped_frames"] for r in rs) for m, rs in results.items()}
    print(f"| dropped frames | {dropped['headless']} | {dropped['console']} |")
    print(f"| console process CPU (engine excluded) | | {cpu:.1f} % of a core |")


if __name__ == "__main__":
    main()
