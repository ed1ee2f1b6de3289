"""LeKiwi end to end on loopback: our client against the emulated host (the real host code on the
Feetech bus emulator with simulated cameras)."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import zmq

from hardware.base import CameraConfig
from hardware.errors import DeviceError
from hardware.lekiwi.client import LeKiwiClient, LeKiwiClientConfig
from hardware.lekiwi.host import LeKiwiHostConfig, run_host
from hardware.sim.lekiwi import LOOPBACK, emulated_lekiwi


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


class Host:
    """The emulated LeKiwi host serving on a thread; `stop()` ends it as a crash would."""

    def __init__(self, cameras=("head", "wrist")):
        self.robot = emulated_lekiwi(list(cameras), width=160, height=120, fps=30)
        self.config = LeKiwiHostConfig(
            bind_ip=LOOPBACK, port_zmq_cmd=free_port(), port_zmq_observations=free_port()
        )
        self._stop = threading.Event()
        ready = threading.Event()
        self.host = None

        def on_ready(host):
            self.host = host
            ready.set()

        self._thread = threading.Thread(
            target=run_host, args=(self.robot, self.config, self._stop, on_ready), daemon=True
        )
        self._thread.start()
        assert ready.wait(30), "the emulated host did not start"

    def client(self, **kw) -> LeKiwiClient:
        cams = {"head": CameraConfig(), "wrist": CameraConfig(width=160, height=120)}
        return LeKiwiClient(
            LeKiwiClientConfig(
                port_zmq_cmd=self.config.port_zmq_cmd,
                port_zmq_observations=self.config.port_zmq_observations,
                cameras=kw.pop("cameras", cams),
                **kw,
            )
        )

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=20)
        assert not self._thread.is_alive()


@pytest.fixture
def host(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", str(tmp_path / "calibration"))
    h = Host()
    yield h
    h.stop()


def wheel_speeds(host, tries=5):
    """The wheel servos' present velocity, read on the bus (retried: the machine may be busy)."""
    for _ in range(tries - 1):
        try:
            return host.robot.wheels.speeds()
        except DeviceError:
            time.sleep(0.05)
    return host.robot.wheels.speeds()


def eventually(condition, timeout_s=2.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def run_steps(client, action, seconds):
    obs = None
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        obs = client.get_observation()
        client.send_action(action)
        time.sleep(1 / 30)
    return obs


def test_observations_carry_arm_positions_base_velocity_and_jpeg_frames(host):
    client = host.client()
    # a camera given without a size takes the size the host sends, known before connecting
    assert client.observation_features["head"] == (120, 160, 3)
    client.connect()
    try:
        obs = client.get_observation()
        arm = host.robot.arm.get_observation()
        for motor in ("shoulder_pan", "shoulder_lift", "elbow_flex", "gripper"):
            assert obs[f"arm_{motor}.pos"] == pytest.approx(arm[f"{motor}.pos"], abs=1.0)
        assert obs["x.vel"] == 0.0 and obs["theta.vel"] == 0.0
        # the arm's servo readings come along, for the console's servo table
        assert 15 < obs["arm_shoulder_lift.temperature"] < 80
        assert obs["arm_gripper.voltage"] == pytest.approx(12.0, abs=1.5)
        assert set(client.diagnostic_features) <= set(obs)
        for cam in ("head", "wrist"):
            image = obs[cam]
            assert image.shape == (120, 160, 3) and image.dtype == np.uint8
            assert image.std() > 10  # a rendered arm, not a blank frame
        assert set(client.observation_features) <= set(obs)
    finally:
        client.disconnect()


def test_commands_move_the_emulated_arm_and_turn_the_wheels(host):
    client = host.client()
    client.connect()
    try:
        start = client.get_observation()
        action = {k: start[k] for k in client.action_features if k.startswith("arm_")}
        action["arm_elbow_flex.pos"] = start["arm_elbow_flex.pos"] - 15
        action["arm_gripper.pos"] = 40.0
        action.update({"x.vel": 0.2, "y.vel": 0.0, "theta.vel": 0.0})
        obs = run_steps(client, action, 1.5)
        assert obs["arm_elbow_flex.pos"] == pytest.approx(action["arm_elbow_flex.pos"], abs=2)
        assert obs["arm_gripper.pos"] == pytest.approx(40.0, abs=2)
        assert obs["x.vel"] == pytest.approx(0.2, abs=0.01)  # measured from the wheel servos
        assert obs["y.vel"] == pytest.approx(0.0, abs=0.01)
        left, back, right = wheel_speeds(host)  # present velocity, raw, on the bus
        assert back == pytest.approx(0, abs=5) and left == pytest.approx(-right, abs=5)
        assert abs(left) > 100
    finally:
        client.disconnect()
    # disconnecting stops the base (the client's stop, or at worst the host's watchdog)
    assert eventually(lambda: max(map(abs, host.robot.wheels.speeds())) < 5)


def test_host_watchdog_stops_the_base_when_commands_stop(host):
    client = host.client()
    client.connect()
    try:
        start = client.get_observation()
        action = {k: start[k] for k in client.action_features}
        action["theta.vel"] = 60.0
        assert run_steps(client, action, 0.6)["theta.vel"] == pytest.approx(60.0, abs=1)
        # the client goes quiet (it keeps reading): within the watchdog's 0.5 s the base stops
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            obs = client.get_observation()
        assert host.host.base_stopped_by_watchdog
        assert obs["theta.vel"] == pytest.approx(0.0, abs=0.5)
    finally:
        client.disconnect()


def test_host_going_silent_mid_stream_is_a_clear_error_and_a_safe_stop(host):
    client = host.client(host_timeout_s=0.4)
    client.connect()
    last = run_steps(client, {"x.vel": 0.1, "y.vel": 0.0, "theta.vel": 0.0}, 0.3)
    host.stop()  # the host dies mid-episode
    with pytest.raises(DeviceError, match="stopped answering.*base stopped, arm held"):
        for _ in range(200):
            last = client.get_observation()
            client.send_action({"x.vel": 0.1, "y.vel": 0.0, "theta.vel": 0.0})
            time.sleep(1 / 30)
    # the client's last word to the robot, delivered when a host listens again: a stop
    context = zmq.Context()
    pull = context.socket(zmq.PULL)
    pull.bind(f"tcp://{LOOPBACK}:{host.config.port_zmq_cmd}")
    try:
        assert pull.poll(3000), "no stop command was queued"
        stop = json.loads(pull.recv())
        assert (stop["x.vel"], stop["y.vel"], stop["theta.vel"]) == (0.0, 0.0, 0.0)
        assert stop["arm_elbow_flex.pos"] == pytest.approx(last["arm_elbow_flex.pos"])
        with pytest.raises(DeviceError, match="stopped answering"):
            client.get_observation()  # still silent: still an error, never stale data
    finally:
        pull.close(0)
        context.term()
        client.disconnect()


def test_a_camera_lost_on_the_host_stops_the_base_and_the_client_recovers_after(host):
    client = host.client(host_timeout_s=0.5)
    client.connect()
    try:
        run_steps(client, {"x.vel": 0.1, "y.vel": 0.0, "theta.vel": 0.0}, 0.3)
        host.robot.cameras["head"].unplug()
        assert eventually(lambda: host.host.observation_failing)
        for _ in range(6):  # the client still drives; the host, blind, keeps the base stopped
            client.send_action({"x.vel": 0.1, "y.vel": 0.0, "theta.vel": 0.0})
            time.sleep(0.05)
        assert max(map(abs, wheel_speeds(host))) < 5
        with pytest.raises(DeviceError, match="stopped answering"):
            for _ in range(200):
                client.get_observation()
                time.sleep(1 / 30)
        assert host.host.observation_failing
        assert eventually(lambda: max(map(abs, wheel_speeds(host))) < 5)
        host.robot.cameras["head"].replug()
        obs = None
        for _ in range(100):
            try:
                obs = client.get_observation()
                break
            except DeviceError:
                time.sleep(0.05)
        assert obs is not None and obs["head"].std() > 10
    finally:
        client.disconnect()


def test_calibrate_lekiwi_runs_the_arms_procedure_without_the_wheels(tmp_path):
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root), HF_LEROBOT_CALIBRATION=str(tmp_path))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "core.cli",
            "calibrate",
            "--robot.type=lekiwi",
            "--robot.port=sim",
            "--robot.id=kiwi",
        ],
        input="c\n\n\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=root,
    )
    # nobody moved the emulated joints: the procedure refuses, naming the arm's joints only
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Move lekiwi to the middle of its range" in out.stdout
    assert "shoulder_pan" in out.stdout and "base_left_wheel" not in out.stdout
    assert "did not move (min equals max)" in out.stderr


def test_host_program_serves_for_its_connection_time(tmp_path):
    """`python -m hardware.lekiwi.host` as on the robot's Pi (here on the emulated bus)."""
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root), HF_LEROBOT_CALIBRATION=str(tmp_path))
    cmd_port, obs_port = free_port(), free_port()
    host = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hardware.lekiwi.host",
            "--port",
            "sim",
            "--id",
            "pi",
            "--bind-ip",
            LOOPBACK,
            "--port-zmq-cmd",
            str(cmd_port),
            "--port-zmq-observations",
            str(obs_port),
            "--connection-time-s",
            "4",
            "--cameras",
            '{"front": {"type": "sim", "width": 64, "height": 48}}',
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    try:
        client = LeKiwiClient(
            LeKiwiClientConfig(
                port_zmq_cmd=cmd_port,
                port_zmq_observations=obs_port,
                connect_timeout_s=15,
                cameras={"front": CameraConfig(width=64, height=48)},
            )
        )
        client.connect()
        obs = client.get_observation()
        assert obs["front"].shape == (48, 64, 3)
        client.disconnect()
        assert host.wait(timeout=30) == 0  # it stops by itself after its connection time
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()
    assert "connection time reached" in host.stdout.read()
