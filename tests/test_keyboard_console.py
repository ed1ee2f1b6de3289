"""Keyboard teleoperation through the console app: keys pressed in the dashboard (Textual's
Pilot) reach the keyboard teleoperator of a real session on the emulated SO-101."""

import numpy as np
from dataset_support import read_data
from tui_helpers import screen_text

from core.config import parse_record_args
from core.session import Session
from tui.app import console_options, make_app
from tui.screens.wizard import WizardScreen


async def wait_until(pilot, condition, timeout_s: float = 20.0) -> bool:
    for _ in range(int(timeout_s / 0.05)):
        if condition():
            return True
        await pilot.pause(0.05)
    return condition()


async def test_keys_pressed_in_the_console_jog_the_emulated_arm(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", str(tmp_path / "calibration"))
    root = tmp_path / "console_kb"
    config = parse_record_args(
        [
            "--robot.type=so101_follower",
            "--robot.port=sim",
            "--robot.id=kb",
            "--teleop.type=keyboard",
            "--teleop.joint_speed=40",
            "--dataset.repo_id=user/console_kb",
            "--dataset.single_task=jog",
            f"--dataset.root={root}",
            "--dataset.num_episodes=1",
            "--dataset.episode_time_s=60",
            "--dataset.push_to_hub=false",
            "--play_sounds=false",
        ]
    )
    options = console_options(config)
    assert options["forward_keys"]
    assert options["teleop_keys"][:2] == [("a", "shoulder_pan -"), ("d", "shoulder_pan +")]
    session = Session(config)
    app = make_app(session, **options)
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_until(pilot, lambda: app.telemetry.phase == "recording")
        await pilot.press("question_mark")  # the help lists the teleoperator's keys
        assert "o gripper open" in screen_text(app)
        await pilot.press("escape")
        for _ in range(20):  # held keys, as a terminal repeats them
            await pilot.press("a", "w")
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        assert not any(isinstance(s, WizardScreen) for s in app.screen_stack)  # w: the arm's
        await pilot.press("right")  # next: the only episode ends, the session finishes
        assert await wait_until(pilot, session.finished.is_set)
    actions = np.stack(read_data(root)["action"].to_numpy())
    pan, lift = actions[:, 0], actions[:, 1]
    assert pan.min() < pan[0] - 15  # "a": shoulder_pan -
    assert lift.max() > lift[0] + 15  # "w": shoulder_lift +, not the wizard
