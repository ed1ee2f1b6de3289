"""lerecord as the client of lerobot's real policy server, against the same session without a
policy: does the control loop keep its deadlines, and what does the network add?

The server (`python -m lerobot.async_inference.policy_server`, in the interop Python, on
127.0.0.1) serves a default-size ACT made by lerobot with random weights (51.6 M parameters,
one 640x480 camera). Each session runs on the emulated SO-101 with one simulated 640x480 camera
at `--fps` for `--duration` seconds: first without a policy (the emulated leader drives), then
with `--policy.server`. Printed: missed deadlines, step lateness p50/p99 of both and their ratio,
the client's round trip per chunk against the server's own time for it (from its log), holds.
Needs LERECORD_LEROBOT_PYTHON (`make interop`). Run: `python -m bench.bench_remote_policy`.
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the interop helpers the tests use

from interop import run_lerobot  # noqa: E402
from policy_server_support import LerobotServer  # noqa: E402

from core import messages as m  # noqa: E402
from core.config import parse_record_args  # noqa: E402
from core.session import Session  # noqa: E402

log = logging.getLogger("bench.remote_policy")


class MeasuredSession(Session):
    """A session that keeps every step's lateness and policy record."""

    def __init__(self, config):
        super().__init__(config)
        self.steps: list = []

    def step_done(self, step) -> None:
        super().step_done(step)
        if step.phase == "recording":
            self.steps.append(step)


def session_args(root: Path, fps: int, seconds: float, *extra: str) -> list[str]:
    return [
        "--robot.type=so101_follower", "--robot.port=sim", "--robot.id=bench_follower",
        '--robot.cameras={"front": {"type": "sim", "width": 640, "height": 480, "fps": 30}}',
        "--dataset.repo_id=local/bench_remote", f"--dataset.root={root}",
        "--dataset.single_task=Pick up the cube", "--dataset.num_episodes=1",
        f"--dataset.episode_time_s={seconds}", "--dataset.reset_time_s=0",
        f"--dataset.fps={fps}", "--dataset.vcodec=h264", "--dataset.push_to_hub=false",
        "--play_sounds=false", *extra,
    ]  # fmt: skip


def run(args: list[str]) -> MeasuredSession:
    session = MeasuredSession(parse_record_args(args))
    session.start()
    assert session.wait(600), "session did not end"
    session.close()
    ended = [e for e in session.events() if isinstance(e, m.SessionEnded)]
    assert ended and ended[0].reason == "completed", ended
    return session


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(name: str, session: MeasuredSession, period_s: float) -> list[float]:
    lateness = [s.lateness_s * 1e3 for s in session.steps]
    missed = sum(1 for s in session.steps if s.lateness_s > period_s)
    share = 100 * missed / len(lateness)
    p50, p99 = pct(lateness, 0.5), pct(lateness, 0.99)
    print(f"{name:>14}: {len(lateness)} steps, missed {missed} ({share:.2f} %), "
          f"lateness p50 {p50:.2f} ms, p99 {p99:.2f} ms")  # fmt: skip
    return lateness


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--fps", type=int, default=30)
    opts = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        checkpoint = work / "act_default"
        made = run_lerobot([str(ROOT / "tests/lerobot_compat/make_policy.py"), "act",
                            str(checkpoint), "--height", "480", "--width", "640",
                            "--default-size"], timeout=600)  # fmt: skip
        assert made.returncode == 0, made.stderr[-2000:]
        print(f"ACT parameters: {int(made.stdout.split()[-1]) / 1e6:.1f} M (random weights)")
        period = 1 / opts.fps
        plain = run(session_args(work / "plain", opts.fps, opts.duration,
                                 "--teleop.type=so101_leader", "--teleop.port=sim",
                                 "--teleop.id=bench_leader"))  # fmt: skip
        server = LerobotServer(work).start()
        try:
            started = time.monotonic()
            remote = run(session_args(work / "remote", opts.fps, opts.duration,
                                      f"--policy.path={checkpoint}",
                                      f"--policy.server={server.address}"))  # fmt: skip
            print(f"session with the server: {time.monotonic() - started:.0f} s incl. set-up")
        finally:
            server.kill()
        server_ms = [float(x) for x in re.findall(r"Observation \d+ \| Total time: ([\d.]+)ms",
                                                  server.output())]  # fmt: skip
    base = report("no policy", plain, period)
    with_server = report("policy server", remote, period)
    print(f"lateness p99 ratio (server / none): {pct(with_server, 0.99) / pct(base, 0.99):.2f}")
    trips = [s.policy.forward_ms for s in remote.steps if s.policy and s.policy.forward_ms]
    holds = remote.steps[-1].policy.starvations if remote.steps[-1].policy else 0
    chunks = remote.steps[-1].policy.chunks if remote.steps[-1].policy else 0
    print(f"chunks {chunks}, held steps {holds}")
    if trips and server_ms:
        # the server's last len(trips) predictions are the episode's (the first are warm-up)
        own = server_ms[-len(trips) :]
        print(f"round trip median {statistics.median(trips):.1f} ms; server's own time median "
              f"{statistics.median(own):.1f} ms; overhead median "
              f"{statistics.median(trips) - statistics.median(own):.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
