"""The inference logs fed from the emulated SO-101 follower driven by the emulated leader: the
real servo driver's observations (positions, °C, V, mA) arrive in the CSVs unchanged."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from core.config import parse_record_args
from core.devices import Devices
from core.logs import open_inference_log
from core.step import ControlStep

ROOT = Path(__file__).resolve().parents[1]


def test_a_teleop_session_on_the_emulated_arm_is_logged(tmp_path):
    config = parse_record_args(["--config", str(ROOT / "examples/sim_session.toml"),
                                "--robot.cameras={}", "--log=true"])  # fmt: skip
    devices = Devices(config.robot, config.teleop)
    devices.connect()
    steps = []
    try:
        t0 = time.monotonic()
        log = open_inference_log(config, devices, base_dir=str(tmp_path / "inference_logs"))
        previous = t0
        for i in range(20):
            start = time.monotonic()
            obs = devices.robot.get_observation()
            sent = devices.robot.send_action(devices.teleop_action(obs))
            step = ControlStep(
                step=i, t=start - t0, wall_time=time.time(), episode_index=0, frame_index=i,
                phase="recording", period_s=start - previous, lateness_s=0.0,
                observation=obs, action=sent, source="teleop",
                event="episode_start" if i == 0 else "", task=config.dataset.single_task,
            )  # fmt: skip
            log.record(step)
            steps.append(step)
            previous = start
        log.close()
    finally:
        devices.disconnect()
    assert log.folder.parent == tmp_path / "inference_logs/sim_pick_place"
    state = pd.read_csv(log.path("robot_state"))
    trajectory = pd.read_csv(log.path("trajectory"))
    policy = pd.read_csv(log.path("policy_inference"))
    assert log.path("robot_state").name == "so101_follower_robot_state.csv"
    assert len(state) == len(trajectory) == 20 and len(policy) == 0  # teleop: no policy rows
    for motor in devices.motors:
        for kind in ("pos", "load", "temperature", "voltage", "current"):
            logged = state[f"{motor}.{kind}"].tolist()
            assert logged == pytest.approx([s.observation[f"{motor}.{kind}"] for s in steps])
        assert trajectory[f"{motor}.target"].tolist() == pytest.approx(
            [s.action[f"{motor}.pos"] for s in steps])  # fmt: skip
    assert state["shoulder_lift.voltage"].between(6, 14).all()  # volts, not register units
    assert state["gripper.temperature"].between(10, 90).all()  # °C
    assert (state["loop_period_ms"].iloc[1:] > 0).all() and (trajectory["source"] == "teleop").all()
