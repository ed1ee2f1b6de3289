"""The LeKiwi example of the docs, recorded here end to end: `lerecord emulate lekiwi` in its own
process, and a headless session with `--robot.type=lekiwi_client` teleoperated by a (simulated)
leader arm and the keyboard at once; the dataset is read back."""

import io
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from dataset_support import check_loadable, read_data

from core import messages as m
from core.config import parse_record_args
from core.headless import run_headless
from core.session import Session

ROOT = Path(__file__).resolve().parents[1]
STATE = [
    "arm_shoulder_pan.pos",
    "arm_shoulder_lift.pos",
    "arm_elbow_flex.pos",
    "arm_wrist_flex.pos",
    "arm_wrist_roll.pos",
    "arm_gripper.pos",
    "x.vel",
    "y.vel",
    "theta.vel",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lekiwi_host(tmp_path):
    """`lerecord emulate lekiwi` on loopback, as a user would start it."""
    ports = free_port(), free_port()
    env = dict(
        os.environ, PYTHONPATH=str(ROOT), HF_LEROBOT_CALIBRATION=str(tmp_path / "host-calibration")
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core.cli",
            "emulate",
            "lekiwi",
            "--port-zmq-cmd",
            str(ports[0]),
            "--port-zmq-observations",
            str(ports[1]),
            "--width",
            "160",
            "--height",
            "120",
            "--quit-on-eof",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    line = proc.stdout.readline()
    assert line.startswith("LeKiwi host emulated on 127.0.0.1"), line + proc.stderr.read()
    yield ports, proc
    if proc.poll() is None:
        proc.stdin.close()
        proc.wait(timeout=20)


def lekiwi_example(ports, root: Path, *extra: str):
    """The docs' LeKiwi command, on the emulated host's ports."""
    return parse_record_args(
        [
            "--robot.type=lekiwi_client",
            f"--robot.port_zmq_cmd={ports[0]}",
            f"--robot.port_zmq_observations={ports[1]}",
            '--teleop=[{"type": "so100_leader", "port": "sim"}, {"type": "keyboard"}]',
            '--robot.cameras={"head": {"type": "opencv", "index_or_path": 0},'
            ' "wrist": {"type": "opencv", "index_or_path": 1}}',
            "--dataset.repo_id=username/mobile_manip",
            "--dataset.single_task=Mobile manipulation task",
            f"--dataset.root={root}",
            "--dataset.reset_time_s=0",
            "--dataset.push_to_hub=false",
            "--play_sounds=false",
            *extra,
        ]
    )


def test_lekiwi_example_records_a_loadable_dataset(lekiwi_host, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", str(tmp_path / "calibration"))
    root = tmp_path / "mobile_manip"
    config = lekiwi_example(
        lekiwi_host[0], root, "--dataset.num_episodes=1", "--dataset.episode_time_s=3"
    )
    session = Session(config)
    done = threading.Event()

    def hold_w_for_a_second():  # the console hands the keyboard's keys to the session
        time.sleep(1.0)
        end = time.monotonic() + 1.0
        while time.monotonic() < end and not done.is_set():
            session.send(m.TeleopKey("w"))
            time.sleep(0.05)

    keys = threading.Thread(target=hold_w_for_a_second, daemon=True)
    keys.start()
    try:
        assert run_headless(config, out=io.StringIO(), session=session) == 0
    finally:
        done.set()
        keys.join()

    info = check_loadable(root)
    assert info["robot_type"] == "lekiwi_client"
    assert info["features"]["observation.state"]["names"] == STATE
    assert info["features"]["action"]["names"] == STATE
    for cam in ("head", "wrist"):
        assert info["features"][f"observation.images.{cam}"]["shape"] == [120, 160, 3]
    data = read_data(root)
    actions = np.stack(data["action"].to_numpy())
    states = np.stack(data["observation.state"].to_numpy())
    assert len(data) > 60  # about 3 s at 30 fps
    # the leader arm drove the arm: its joints moved during the episode
    assert np.ptp(actions[:, :6], axis=0).max() > 1.0
    # "w" drove the base forward at the slow speed; the wheels reported it back
    assert actions[:, 6].max() == pytest.approx(0.1)
    assert actions[0, 6] == 0.0 and actions[-1, 6] == 0.0
    assert states[:, 6].max() == pytest.approx(0.1, abs=0.01)


def test_host_dying_mid_episode_ends_the_session_and_keeps_the_saved_episode(
    lekiwi_host, tmp_path, monkeypatch
):
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", str(tmp_path / "calibration"))
    root = tmp_path / "mobile_manip"
    ports, host = lekiwi_host
    config = lekiwi_example(ports, root, "--dataset.num_episodes=3", "--dataset.episode_time_s=2")
    session = Session(config)

    def kill_host_in_episode_1():
        while not session.finished.is_set():
            t = session.snapshot()
            if t.episode_index == 1 and t.phase == "recording" and t.frame_index > 15:
                host.kill()  # the robot's Pi crashed, or the network dropped
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_host_in_episode_1, daemon=True)
    killer.start()
    out = io.StringIO()
    status = run_headless(config, out=out, session=session)
    killer.join(timeout=5)
    text = out.getvalue()
    assert status == 1, text
    assert "stopped answering" in text and "base stopped, arm held" in text
    info = check_loadable(root)
    assert info["total_episodes"] == 1  # episode 0 kept; the interrupted one discarded
