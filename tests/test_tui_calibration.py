"""Calibrating from the wizard: the simulated leader arm (an STS3215 bus emulator playing a
human-like motion) calibrated step by step; the file written in lerobot's format."""

from __future__ import annotations

import json

from tui_helpers import wait_for_text

from tui.app import make_app
from tui.detect import Detected
from tui.screens.calibration import CalibrationScreen
from tui.screens.wizard import WizardScreen


async def test_the_leader_arm_is_calibrated_step_by_step(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", str(tmp_path / "calibration"))
    app = make_app(None, wizard=True, detector=Detected)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("ctrl+n", "ctrl+n")  # the teleop page: so101_leader on sim
        for field, value in (("type", "so101_leader"), ("port", "sim"), ("id", "my_leader")):
            app.screen.query_one(f"#opt-teleop-{field}").value = value
        await pilot.pause(0.1)
        await pilot.press("ctrl+k")
        await wait_for_text(pilot, app, "middle of its range", timeout=20)
        await pilot.press("enter")
        await wait_for_text(pilot, app, "whole range")
        await pilot.pause(3.0)  # the emulated leader moves its joints meanwhile
        await pilot.press("enter")
        text = await wait_for_text(pilot, app, "Calibration written")
        assert "Saved to" in text
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert isinstance(app.screen, WizardScreen)
    (path,) = (tmp_path / "calibration").rglob("*.json")
    assert path.name == "my_leader.json"
    calibration = json.loads(path.read_text())
    assert set(calibration) == {
        "shoulder_pan",
        "shoulder_lift",
        "elbow_flex",
        "wrist_flex",
        "wrist_roll",
        "gripper",
    }
    lift = calibration["shoulder_lift"]
    assert lift["range_min"] < lift["range_max"]
    assert calibration["wrist_roll"]["range_min"] == 0  # full turn, as lerobot


async def test_an_unreachable_port_is_said_plainly(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", str(tmp_path / "calibration"))
    app = make_app(None, wizard=True, detector=Detected)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.1)
        app.screen.query_one("#opt-robot-port").value = str(tmp_path / "ttyNOPE")
        await pilot.press("ctrl+k")
        text = await wait_for_text(pilot, app, "could not be calibrated", timeout=20)
        assert "ttyNOPE" in text
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, CalibrationScreen)
