"""Keyboard teleoperation headless: keys typed into a pseudo-terminal (the runner's stdin) jog the
emulated SO arm, while the session's own keys stay the session's."""

import os
import pty
import queue
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from dataset_support import read_data

from core import messages as m
from core.devices import Devices
from core.headless import key_command
from core.terminal_keys import TerminalKeys
from hardware.so_arm.follower import So101FollowerConfig
from hardware.teleop.keyboard import KeyboardTeleopConfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def devices(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", str(tmp_path / "calibration"))
    d = Devices(So101FollowerConfig(port="sim", id="kb"), KeyboardTeleopConfig(joint_speed=40.0))
    d.connect()
    yield d
    d.disconnect()


def test_keys_typed_in_the_terminal_jog_the_arm(devices):
    session_commands: queue.Queue = queue.Queue()

    def on_key(key: str) -> None:  # what the headless runner does with each key
        command = key_command(key)
        if isinstance(command, m.TeleopKey):
            devices.teleop_key(command)
        else:
            session_commands.put(command)

    master, slave = pty.openpty()
    try:
        with TerminalKeys(slave, on_key):
            start = devices.robot.get_observation()
            obs = start
            end = time.monotonic() + 1.0
            while time.monotonic() < end:  # hold "w": the terminal repeats it
                os.write(master, b"w")
                devices.robot.send_action(devices.teleop_action(obs))
                time.sleep(1 / 30)
                obs = devices.robot.get_observation()
            os.write(master, b"n\x1b[D")  # next episode, then re-record (left arrow)
            assert session_commands.get(timeout=2) == m.ExitEarly()
            assert session_commands.get(timeout=2) == m.Rerecord()
    finally:
        os.close(master)
        os.close(slave)
    lifted = obs["shoulder_lift.pos"] - start["shoulder_lift.pos"]
    assert 25 < lifted < 50  # ~40 deg/s for ~1 s, read back from the emulated servos
    assert obs["shoulder_pan.pos"] == pytest.approx(start["shoulder_pan.pos"], abs=1.0)


def test_headless_session_from_a_terminal_records_the_jog_and_n_ends_the_episode(tmp_path):
    """`lerecord --headless … --teleop.type=keyboard` with a pseudo-terminal as its stdin."""
    root = tmp_path / "kb_dataset"
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_LEROBOT_CALIBRATION=str(tmp_path / "cal"))
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core.cli",
            "--headless",
            "--robot.type=so101_follower",
            "--robot.port=sim",
            "--robot.id=kb",
            "--teleop.type=keyboard",
            "--teleop.joint_speed=40",
            "--dataset.repo_id=user/kb",
            "--dataset.single_task=jog",
            f"--dataset.root={root}",
            "--dataset.num_episodes=1",
            "--dataset.episode_time_s=60",
            "--dataset.push_to_hub=false",
            "--play_sounds=false",
        ],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    os.close(slave)
    try:
        before = ""
        while "Recording episode" not in before or "Teleop keys" not in before:
            line = proc.stdout.readline()
            assert line, "the session ended before recording: " + before
            before += line
        time.sleep(0.5)
        end = time.monotonic() + 1.0
        while time.monotonic() < end:  # hold "w": the terminal repeats it
            os.write(master, b"w")
            time.sleep(0.05)
        time.sleep(0.5)
        os.write(master, b"n")  # next: with one episode, the session ends
        out, _ = proc.communicate(timeout=60)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "Teleop keys: a shoulder_pan -, d shoulder_pan +, s shoulder_lift -" in before
    data = read_data(root)
    lift = np.stack(data["action"].to_numpy())[:, 1]  # shoulder_lift.pos
    # 40 deg/s, held for the 1 s of presses plus the 0.6 s hold timeout after the last one
    assert 30 < lift.max() - lift[0] < 80
    assert len(data) < 30 * 10  # "n" ended the 60 s episode after a few seconds
