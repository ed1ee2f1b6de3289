"""`lerecord emulate`, `find-port` and `calibrate`, run as a user runs them."""

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hardware.feetech.bus import FeetechBus
from hardware.feetech.discovery import find_servo_ports
from hardware.sim.arms import make_servos
from hardware.sim.bus_emulator import BusEmulator

ROOT = Path(__file__).resolve().parents[1]


def _lerecord(*args, **kw) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.update(kw.pop("env", {}))
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", *args],
        cwd=ROOT,
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kw,
    )


def _line(proc: subprocess.Popen, timeout: float = 15.0) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline().strip() if ready else ""


def test_emulate_prints_a_port_on_its_first_line_and_serves_until_interrupted():
    proc = _lerecord("emulate", "so101_leader")
    try:
        port = _line(proc)
        assert port.startswith("/dev/")
        bus = FeetechBus(port, {})
        bus.connect(handshake=False)
        assert bus.scan() == {i: 777 for i in range(1, 7)}
        bus.disconnect(disable_torque=False)
        proc.stdin.write("overheat 3\n")
        proc.stdin.flush()
        assert _line(proc) == "ok overheat 3"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_emulate_with_an_unknown_arm_is_one_line_and_status_2():
    proc = _lerecord("emulate", "so102_follower")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert err.strip().count("\n") == 0
    assert (
        err.startswith("lerecord: error: emulate: got so102_follower") and "so101_follower" in err
    )


def test_find_port_lists_the_emulated_bus_with_its_ids():
    with BusEmulator(make_servos("so100_follower")) as emu:
        ports = find_servo_ports([emu.port])
        mine = [p for p in ports if p.path == emu.port]
        assert mine and mine[0].servo_ids == (1, 2, 3, 4, 5, 6) and mine[0].is_servo_bus
        proc = _lerecord("find-port", "--port", emu.port)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    line = next(x for x in out.splitlines() if x.startswith(emu.port))
    assert line.endswith("servo bus, ids 1 2 3 4 5 6")


def test_find_port_rejects_unknown_arguments():
    proc = _lerecord("find-port", "--baud=9600")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "unknown argument '--baud=9600'" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--robot.type=so101_follower"], "--robot.port is required for so101_follower"),
        (
            ["--robot.type=so101_follower", "--robot.colour=red"],
            "unknown flag --robot.colour (so101_follower has no such setting)",
        ),
        (["--robot.colour=red"], "--robot.type is required; known types: so100_follower"),
        (["--robot.type=so999", "--robot.port=sim"], "unknown type 'so999'"),
        ([], "either --robot.type"),
    ],
)
def test_calibrate_bad_flags_are_one_line_errors(args, message):
    proc = _lerecord("calibrate", *args)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert message in err and err.strip().count("\n") == 0


def _calibrate(args: list[str], env: dict) -> tuple[str, str]:
    """Run `lerecord calibrate`, pressing ENTER at the middle, then 2 s later to finish."""
    proc = _lerecord("calibrate", *args, env=env)
    try:
        assert "middle of its range" in _line(proc)
        proc.stdin.write("\n")  # the (simulated) hand is at the middle
        proc.stdin.flush()
        assert "except 'wrist_roll'" in _line(proc)
        time.sleep(2.0)  # the hand moves the joints meanwhile
        proc.stdin.write("\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    return out, err


def test_calibrate_walks_through_the_steps_on_stdin_and_writes_lerobot_file(tmp_path):
    env = {"HF_LEROBOT_CALIBRATION": str(tmp_path)}
    args = ["--teleop.type=so101_leader", "--teleop.port=sim", "--teleop.id=lead"]
    out, _ = _calibrate(args, env)
    path = tmp_path / "teleoperators" / "so_leader" / "lead.json"
    assert f"Calibration saved to {path}" in out
    assert "NAME" in out and "elbow_flex" in out
    data = json.loads(path.read_text())
    assert list(data) == [
        "shoulder_pan",
        "shoulder_lift",
        "elbow_flex",
        "wrist_flex",
        "wrist_roll",
        "gripper",
    ]
    assert data["wrist_roll"]["range_min"] == 0 and data["wrist_roll"]["range_max"] == 4095
    assert all(v["range_min"] < v["range_max"] and v["drive_mode"] == 0 for v in data.values())

    again = _lerecord("calibrate", *args, env=env)
    out, err = again.communicate("\n", timeout=60)  # ENTER: use the file
    assert again.returncode == 0, err
    assert f"Calibration from {path} written to the motors" in out


def test_a_simulated_follower_is_moved_by_a_simulated_person_while_calibrated(tmp_path):
    env = {"HF_LEROBOT_CALIBRATION": str(tmp_path)}
    args = ["--robot.type=so100_follower", "--robot.port=sim", "--robot.id=follow"]
    out, _ = _calibrate(args, env)
    data = json.loads((tmp_path / "robots" / "so_follower" / "follow.json").read_text())
    pan = data["shoulder_pan"]
    assert pan["range_max"] - pan["range_min"] > 50  # the simulated person moved it
    assert all(v["range_min"] < v["range_max"] for v in data.values())
