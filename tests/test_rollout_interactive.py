"""`lerecord rollout --interactive=true`: the real command line on the emulated arm, driven by
/start /reset /stop written to its stdin pipe; the sentry episodes read back by lerobot 0.6.1."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from interop import run_lerobot

from core.config.rollout import parse_rollout_args
from hardware.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
COMPAT = Path(__file__).with_name("lerobot_compat")
COMMON = [
    "--policy.path=tests/data/lerobot-0.6.1/act_policy",
    "--robot.type=so100_follower",
    "--robot.port=sim",
    "--robot.id=interactive_follower",
    "--robot.cameras={front: {type: sim, width: 64, height: 48, fps: 30}}",
    "--play_sounds=false",
    "--headless=true",
    "--interactive=true",
]


class Rollout:
    """`lerecord rollout …` with a pipe on stdin; its stdout lines read on a thread."""

    def __init__(self, *args: str):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "rollout", *COMMON, *args],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, bufsize=1,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def type(self, command: str) -> None:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def expect(self, text: str, timeout: float = 60.0) -> str:
        """Wait for a stdout line containing `text`; return it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                assert self.process.poll() is None, self.process.stderr.read()[-2000:]
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} in {self.seen}")

    def end(self, timeout: float = 60.0) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


def test_sentry_records_only_between_start_and_reset_and_lerobot_loads_it(tmp_path):
    root = tmp_path / "interactive"
    rollout = Rollout(
        "--strategy.type=sentry", "--dataset.repo_id=user/rollout_interactive",
        f"--dataset.root={root}", "--dataset.single_task=Grab the cube",
        "--dataset.push_to_hub=false", "--dataset.vcodec=h264", "--dataset.episode_time_s=0.5",
        "--return_to_initial_position=false",
    )  # fmt: skip
    rollout.expect("The arm holds")
    if not any("will NOT move until you type /start" in line for line in rollout.seen):
        rollout.expect("will NOT move until you type /start")  # before or after, as it happens
    time.sleep(0.3)  # holding: nothing recorded
    rollout.type("/help")
    rollout.expect("/reset")
    rollout.type("/dance")
    rollout.expect("Unknown command '/dance'")
    rollout.type("/start")
    rollout.expect("Recording episode 0")
    rollout.type("/start")
    rollout.expect("Already running")
    rollout.expect("Recording episode 1")  # sentry cuts its episodes at 0.5 s
    rollout.type("/reset")  # the episode in progress is saved, the arm goes back and holds
    rollout.expect("Back to the start pose")
    rollout.expect("The arm holds")
    first_run = recorded(rollout.seen)
    rollout.type("/start")  # a second run goes on from the next episode index
    assert rollout.expect("Recording episode").endswith(f"episode {first_run}: Grab the cube")
    rollout.type("/stop")
    ended = rollout.expect("Session ended")
    assert rollout.end() == 0
    total = recorded(rollout.seen)
    assert f"{total} episodes saved" in ended  # every episode begun, the ones /reset cut too
    out = run_lerobot(
        [str(COMPAT / "episode_values.py"), str(root), "user/rollout_interactive", "frame_index"]
    )
    assert out.returncode == 0, out.stderr[-2000:]
    data = json.loads(out.stdout.strip().splitlines()[-1])
    lengths = [len(e) for e in data["episodes"]]
    assert len(lengths) == total and lengths[0] == 15 and all(n >= 1 for n in lengths)


def recorded(lines: list[str]) -> int:
    return sum("Recording episode" in line for line in lines)


def test_base_stops_when_stdin_closes_and_the_arm_never_ran_before_start():
    rollout = Rollout("--strategy.type=base", "--task=pick up cube", "--duration=0.3")
    rollout.expect("The arm holds")
    rollout.type("/start")
    rollout.expect("The policy drives")
    rollout.expect("The arm holds")  # the run's --duration is over: it holds again
    rollout.type("/vqa what do you see?")
    rollout.expect("no text head")
    rollout.process.stdin.close()
    rollout.expect("Input stream closed")
    rollout.expect("Back to the start pose")  # --return_to_initial_position at the end
    rollout.expect("Session ended (stopped")
    assert rollout.end() == 0


@pytest.mark.parametrize("strategy", ["highlight", "episodic"])
def test_interactive_is_refused_for_the_strategies_lerobot_refuses(strategy):
    with pytest.raises(ConfigError) as error:
        parse_rollout_args(
            [*COMMON, f"--strategy.type={strategy}", "--dataset.repo_id=u/rollout_x", "--task=t"]
        )
    assert "--interactive=true drives --strategy.type=base or sentry" in str(error.value)
