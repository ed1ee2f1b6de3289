"""LeKiwi's calibration file is lerobot's: `robots/lekiwi/<id>.json`, the arm's motors named
`arm_<motor>`, then the three wheels; the real lerobot 0.6.1 reads it and writes it back
byte for byte, and lerecord reads lerobot's."""

from __future__ import annotations

import json

from interop import run_lerobot

from hardware.feetech.calibration import load
from hardware.lekiwi.host import ARM_MOTORS
from hardware.sim.lekiwi import emulated_lekiwi

# lerobot 0.6.1: its LeKiwi's Robot part only (where the file is, read with lerobot's loader;
# the motor bus part needs deepdiff, not in the interop environment), then the calibration read
# written back with lerobot's own writer (draccus) to a second file
LEROBOT_READS_AND_WRITES = """
import json, sys
from pathlib import Path
from lerobot.robots.lekiwi import LeKiwi, LeKiwiConfig
from lerobot.robots.robot import Robot
robot = LeKiwi.__new__(LeKiwi)
Robot.__init__(robot, LeKiwiConfig(id="kiwi", port="/dev/null", cameras={}))
robot._save_calibration(Path(sys.argv[1]))
print(json.dumps({"path": str(robot.calibration_fpath), "motors": list(robot.calibration)}))
"""


def _connect_once(monkeypatch, root) -> None:
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", str(root))
    robot = emulated_lekiwi([], calibration_id="kiwi")
    robot.connect()  # no file yet: the emulated arm's calibration is saved
    robot.disconnect()


def test_lekiwi_calibration_is_stored_and_written_as_lerobot_does(tmp_path, monkeypatch):
    root = tmp_path / "calibration"
    _connect_once(monkeypatch, root)
    ours = root / "robots" / "lekiwi" / "kiwi.json"
    assert ours.is_file() and not (root / "robots" / "so_follower").exists()
    stored = load(ours)
    wheels = ["base_left_wheel", "base_back_wheel", "base_right_wheel"]
    assert list(stored) == [f"arm_{m}" for m in ARM_MOTORS] + wheels
    assert [c.id for c in stored.values()] == list(range(1, 10))
    assert all((stored[w].homing_offset, stored[w].range_min, stored[w].range_max) == (0, 0, 4095)
               for w in wheels)  # fmt: skip

    rewritten = tmp_path / "lerobot.json"
    env = {"HF_LEROBOT_CALIBRATION": str(root)}
    proc = run_lerobot(["-c", LEROBOT_READS_AND_WRITES, str(rewritten)], env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    said = json.loads(proc.stdout.strip().splitlines()[-1])
    assert said["path"] == str(ours)
    assert said["motors"] == list(stored)
    assert rewritten.read_bytes() == ours.read_bytes()


def test_a_calibration_lerobot_wrote_for_lekiwi_is_the_one_used(tmp_path, monkeypatch):
    root = tmp_path / "calibration"
    _connect_once(monkeypatch, root)
    path = root / "robots" / "lekiwi" / "kiwi.json"
    data = json.loads(path.read_text())
    data["arm_elbow_flex"]["homing_offset"] += 7  # as if lerobot had calibrated it
    path.write_text(json.dumps(data, indent=4))
    robot = emulated_lekiwi([], calibration_id="kiwi")
    robot.connect()
    try:
        assert (
            robot.arm.bus.calibration["elbow_flex"].homing_offset
            == (data["arm_elbow_flex"]["homing_offset"])
        )
        assert set(robot.arm.bus.calibration) == set(ARM_MOTORS)
    finally:
        robot.disconnect()
