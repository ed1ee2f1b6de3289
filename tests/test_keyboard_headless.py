"""Keyboard teleoperation headless: keys typed into a pseudo-terminal (the runner's stdin) jog the
emulated SO arm, while the session's own keys stay the session's."""

import os
import pty
import queue
import time

import pytest

from core import messages as m
from core.devices import Devices
from core.headless import key_command
from core.terminal_keys import TerminalKeys
from hardware.so_arm.follower import So101FollowerConfig
from hardware.teleop.keyboard import KeyboardTeleopConfig


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
