"""The real `lerecord` console in a real terminal (tmux) on the simulated arm: keys pressed,
screen read with capture-pane, dataset read back; and the terminal closing mid-episode (what an
SSH connection dropping does) ending the session cleanly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from needs import need

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _tmux():
    need(shutil.which("tmux") is not None, "tmux")


class Terminal:
    """A tmux server of our own (its own socket), one 120x40 window running one command."""

    def __init__(self, tmp_path: Path, argv: list[str]):
        self.socket = f"lerecord-test-{os.getpid()}-{tmp_path.name}"
        env = {"HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"}
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        command = " ".join([sys.executable, "-m", "core.cli", *argv])
        shell = f"cd {ROOT} && env -u COLUMNS -u LINES {exports} {command}; echo EXIT=$?; sleep 30"
        self._tmux("new-session", "-d", "-s", "lr", "-x", "120", "-y", "40", shell)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False
        ).stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "lr")

    def press(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "lr", *keys)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen:\n{self.screen()}")

    def shell_pid(self) -> int:
        return int(self._tmux("display-message", "-p", "-t", "lr", "#{pane_pid}").strip())

    def close(self) -> None:
        self._tmux("kill-server")


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _session(tmp_path: Path, **dataset) -> list[str]:
    flags = {
        "root": tmp_path / "dataset",
        "num_episodes": 3,
        "episode_time_s": 4,
        "reset_time_s": 1,
        **dataset,
    }
    return [
        "--config",
        str(ROOT / "examples/sim_session.toml"),
        *(f"--dataset.{k}={v}" for k, v in flags.items()),
    ]


def _lengths(root: Path) -> list[int]:
    table = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet")
    return table.column("length").to_pylist()


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads processes from /proc")
def test_keys_in_a_real_terminal_shape_the_recorded_dataset(tmp_path):
    # resets of 60 s: every reset here is ended by a key, whatever the machine's speed; episodes
    # of 8 s: a key pressed after a second ends one well before, even on a loaded machine
    term = Terminal(tmp_path, _session(tmp_path, reset_time_s=60, episode_time_s=8))
    try:
        term.wait_for("episode 0 started")
        time.sleep(1.0)
        term.press("Right")  # end episode 0 early
        term.wait_for("RESET")
        term.press("n")  # end the reset
        term.wait_for("episode 1 started")
        time.sleep(0.5)
        term.press("Left")  # re-record episode 1
        term.wait_for("episode 1 discarded (rerecord)")
        term.wait_for("RESET")
        term.press("n")
        term.wait_for("episode 1 saved", timeout=60)
        term.wait_for("RESET")
        term.press("n")
        term.wait_for("episode 2 started")
        time.sleep(1.0)
        term.press("q")  # mid-episode: the console asks
        term.wait_for("Stop the session?")
        term.press("s")  # save episode 2 and stop
        screen = term.wait_for("session ended")
        term.press("q")
        term.wait_for("EXIT=0")
    finally:
        term.close()
    assert "(stopped), 3 episodes saved" in screen
    lengths = _lengths(tmp_path / "dataset")
    assert len(lengths) == 3
    assert 15 < lengths[0] < 200  # ended early after about a second
    assert lengths[1] == 240  # the re-recorded episode ran its full 8 s at 30 fps
    assert 15 < lengths[2] < 240  # saved when stopping
    info = json.loads((tmp_path / "dataset/meta/info.json").read_text())
    assert info["total_episodes"] == 3 and info["total_frames"] == sum(lengths)


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads processes from /proc")
def test_the_terminal_closing_mid_episode_ends_the_session_cleanly(tmp_path):
    # episodes of 120 s, the first ended by a key: episode 1 is surely mid-way when the terminal
    # goes, however late a loaded machine draws the console that says it started
    term = Terminal(tmp_path, _session(tmp_path, episode_time_s=120))
    try:
        term.wait_for("episode 0 started")
        time.sleep(0.5)
        term.press("Right")
        term.wait_for("episode 0 saved")
        term.wait_for("episode 1 started")
        shell = term.shell_pid()
        app = next(p for p in _children(shell))
        engines = _children(app)
        assert engines, "the console runs the engine in a child process"
    finally:
        term.close()  # the terminal goes away: SIGHUP, as when an SSH connection drops
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in [app, *engines]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in [app, *engines]), "console or engine still running"
    lengths = _lengths(tmp_path / "dataset")  # episode 0 kept, episode 1 discarded
    assert len(lengths) == 1 and 5 < lengths[0] < 120 * 30
    info = json.loads((tmp_path / "dataset/meta/info.json").read_text())
    assert info["total_episodes"] == 1 and info["total_frames"] == lengths[0]


def test_the_emergency_stop_key_ends_the_session_at_once(tmp_path):
    term = Terminal(tmp_path, _session(tmp_path, episode_time_s=30))
    try:
        term.wait_for("episode 0 started")
        time.sleep(0.5)
        term.press("Space")  # no question asked
        screen = term.wait_for("session ended (emergency_stop)", timeout=10)
        assert "Stop the session?" not in screen
        term.press("q")
        term.wait_for("EXIT=0")
    finally:
        term.close()
    assert "episode 0 discarded (emergency_stop)" in screen
    # no episode saved: the dataset folder the session created is taken away again
    assert not (tmp_path / "dataset/meta/info.json").exists()


def _header(screen: str) -> str:
    return screen.splitlines()[0]


def _key_bar(screen: str) -> str:
    return [line for line in screen.splitlines() if line.strip()][-1]


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads processes from /proc")
def test_each_state_reads_true_on_the_real_console(tmp_path):
    """Recording, paused, reset and e-stopped as the real `lerecord` draws them: the header's
    phase and counts, the key bar offering only what works, the servo table's torque; then the
    summary printed once the console has closed."""
    term = Terminal(tmp_path, _session(tmp_path, num_episodes=2, episode_time_s=60,
                                       reset_time_s=60))  # fmt: skip
    try:
        term.wait_for("frames", timeout=60)
        screen = term.wait_for("→ Next", timeout=30)  # the key bar is painted last
        assert "● RECORDING" in _header(screen) and "ep 0 · 1 of 2" in _header(screen)
        assert "servos · torque on" in screen
        assert "→ Next" in _key_bar(screen) and "p Pause" in _key_bar(screen)
        term.press("p")
        # the key bar offers Resume at once; the header says PAUSED once the engine has paused
        screen = term.wait_for("PAUSED", timeout=30)
        assert "p Resume" in _key_bar(screen) and "Next" not in _key_bar(screen)
        assert "frames" not in _header(screen) or "PAUSED" in _header(screen)
        term.press("p")
        term.wait_for("resumed (recording, episode 0)", timeout=30)
        term.wait_for("→ Next", timeout=30)  # offered again once the console shows recording
        term.press("Right")
        screen = term.wait_for("next ep 1", timeout=30)
        assert "RESET" in _header(screen) and "frames" not in _header(screen)
        assert "→ Next" in _key_bar(screen)
        term.press("n")
        term.wait_for("episode 1 started", timeout=30)
        term.press("Space")
        screen = term.wait_for("E-STOPPED", timeout=30)
        screen = term.wait_for("TORQUE OFF", timeout=30)
        assert "saved 1" in _header(screen)
        assert "esc Quit" in _key_bar(screen) and "E-STOP" not in _key_bar(screen)
        term.press("q")
        screen = term.wait_for("EXIT=0", timeout=30)
    finally:
        term.close()
    assert "session emergency_stop: 1 episode saved" in screen
    assert f"dataset: {tmp_path / 'dataset'}" in screen


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads processes from /proc")
def test_an_engine_that_dies_reads_failed_and_exits_1(tmp_path):
    term = Terminal(tmp_path, _session(tmp_path, episode_time_s=60))
    try:
        term.wait_for("episode 0 started", timeout=60)
        app = next(p for p in _children(term.shell_pid()))
        (engine,) = [
            p for p in _children(app)
            if b"resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes()
        ]  # fmt: skip
        os.kill(engine, 9)
        # the screen is captured while the console repaints: wait for its last piece, the keys
        screen = term.wait_for("esc Quit", timeout=30)
        assert "FAILED" in screen
        assert "engine process died (killed by SIGKILL)" in term.wait_for("engine process died")
        screen = term.wait_for("Torque unknown: the servos may still be powered", timeout=30)
        assert "servos · torque unknown" in screen, screen
        assert "Next" not in _key_bar(screen)
        term.press("q")
        screen = term.wait_for("EXIT=1", timeout=30)
    finally:
        term.close()
    assert "lerecord: engine process died (killed by SIGKILL)" in screen
