"""`lerecord replay`: the recorded actions reach the emulated follower in order and at the
dataset's rate (seen from the emulator's side), after a slow approach to the first pose; a stop
ends it at once; a bad episode is refused before anything moves."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from dataset_support import MOTORS
from session_support import ROOT
from test_so_arm import _factory_file

from core.dataset import DatasetRecorder, dataset_features
from core.dataset.episodes import episode_arrays
from core.replay import APPROACH_STEP, replay
from hardware.sim.arms import make_servos
from hardware.sim.bus_emulator import BusEmulator
from hardware.sim.servo import CONTROL_TABLE
from hardware.so_arm.follower import So101FollowerConfig, SoFollower

FPS = 30
GOAL = CONTROL_TABLE["Goal_Position"][0]


def _dataset(root, frames=30):
    joints = {f"{m}.pos": float for m in MOTORS}
    features = dataset_features(joints, joints, video=False)
    recorder = DatasetRecorder.create(root, "local/replay", FPS, "so_follower", features,
                                      video=False)  # fmt: skip
    recorder.start_episode()
    t = np.arange(frames) / FPS
    for i in range(frames):
        action = (30 + 15 * np.sin(2 * np.pi * t[i] + np.arange(6))).astype(np.float32)
        recorder.add_frame(action - 1, action, {}, "Wave")
    recorder.save_episode()
    recorder.close()
    return root


@pytest.fixture
def follower_bus():
    with BusEmulator(make_servos("so101_follower")) as emu:
        _factory_file(emu.port, "robots", "so_follower", "f1")
        yield emu


def _goal_log(servo) -> list[tuple[float, int]]:
    """Every goal the emulated servo receives, with the time it arrived."""
    log: list[tuple[float, int]] = []
    write = servo.write

    def logged(address, data):
        write(address, data)
        if address <= GOAL < address + len(data):
            log.append((time.monotonic(), servo.get("Goal_Position")))

    servo.write = logged
    return log


def test_replay_sends_the_actions_in_order_and_at_rate_after_a_slow_approach(
    tmp_path, follower_bus
):
    arrays = episode_arrays(_dataset(tmp_path / "ds"), 0)
    robot = SoFollower(So101FollowerConfig(port=follower_bus.port, id="f1"))
    robot.connect()
    lift = follower_bus.servos[2]  # shoulder_lift (servo id 2)
    start = robot.get_observation()["shoulder_lift.pos"]
    log = _goal_log(lift)
    sent: list[dict] = []
    try:
        result = replay(robot, arrays.action_names, arrays.actions, arrays.fps, threading.Event(),
                        on_step=lambda i, action: sent.append(action))  # fmt: skip
        robot.get_observation()  # one more exchange: the last goal write has been handled
    finally:
        robot.disconnect()
    assert result == "completed" and len(sent) == 30
    expected = [robot.bus.unnormalize("shoulder_lift", float(a[1])) for a in arrays.actions]
    replayed = [goal for _, goal in log[-30:]]
    assert replayed == expected  # every action, in order
    times = np.array([t for t, _ in log[-30:]])
    period = np.diff(times)
    assert np.median(period) == pytest.approx(1 / FPS, rel=0.15)
    # never faster than the dataset's rate over the whole replay (a loaded test machine can only
    # make it slower: a step more than a period late moves the later ones, it never bunches them)
    assert times[-1] - times[0] >= 0.85 * 29 / FPS
    approach = [robot.bus.unnormalize("shoulder_lift", start)] + [g for _, g in log[:-30]]
    step = abs(robot.bus.unnormalize("shoulder_lift", APPROACH_STEP) -
               robot.bus.unnormalize("shoulder_lift", 0.0))  # fmt: skip
    assert len(approach) > 2 and max(np.abs(np.diff(approach))) <= step + 2


def test_a_stop_ends_the_replay_at_the_next_step(tmp_path, follower_bus):
    arrays = episode_arrays(_dataset(tmp_path / "ds", frames=300), 0)
    robot = SoFollower(So101FollowerConfig(port=follower_bus.port, id="f1"))
    robot.connect()
    stop = threading.Event()
    sent: list[int] = []

    def on_step(i, _action):
        sent.append(i)
        if i == 10:
            stop.set()

    try:
        result = replay(
            robot, arrays.action_names, arrays.actions, arrays.fps, stop, on_step=on_step
        )
    finally:
        robot.disconnect()
    assert result == "stopped" and sent == list(range(11))


def test_a_bad_episode_is_refused_in_one_line_before_anything_moves(tmp_path):
    root = _dataset(tmp_path / "ds")
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "replay", "--robot.type=so101_follower",
         "--robot.port=/dev/does-not-exist", "--robot.id=f1", "--dataset.repo_id=local/replay",
         f"--dataset.root={root}", "--dataset.episode=4"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert (
        done.stderr.count("\n") == 1 and "--dataset.episode: 4 is not in the dataset" in done.stderr
    )
