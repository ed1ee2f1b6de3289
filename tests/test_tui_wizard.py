"""The session wizard: each page checked as the operator leaves it, the profile written as TOML
with what was typed, and the answers turned into the flags the CLI takes."""

from __future__ import annotations

import sys

from tui_helpers import screen_text

from tui.app import make_app
from tui.components.event_log import EventLog
from tui.options import OPTIONS, STEPS, to_argv
from tui.screens.wizard import WizardScreen

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def field(app, name):
    option = next(o for o in OPTIONS if o.name == name)
    return app.screen.query_one(f"#{option.field_id}")


async def test_the_wizard_walks_every_page_and_saves_the_profile(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "core.config", None)  # the fallback writer, on its own
    profile = tmp_path / "profiles" / "pick.toml"
    app = make_app(None, wizard=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        assert isinstance(app.screen, WizardScreen)
        seen = []
        for step in STEPS:
            seen.append(screen_text(app).splitlines()[0].strip())
            if step == "robot":
                field(app, "robot.id").value = "left_arm"
            if step == "cameras":
                field(app, "cameras").value = "front=sim, wrist=/dev/video2"
            if step == "teleop":
                field(app, "teleop.type").value = "keyboard"
            if step == "dataset":
                await pilot.press("ctrl+n")  # the task is still empty
                await pilot.pause(0.05)
                assert "--dataset.single_task: required" in screen_text(app)
                field(app, "dataset.single_task").value = "Stack the cubes"
                field(app, "dataset.num_episodes").value = "4"
            if step == "options":
                field(app, "play_sounds").value = False
                field(app, "theme").value = "light"
                field(app, "profile").value = str(profile)
            await pilot.press("ctrl+n")
            await pilot.pause(0.05)
        assert not isinstance(app.screen, WizardScreen)
        log = app.screen.query_one(EventLog).lines_written
        assert log[-1] == f"profile saved: {profile}; run it with `lerecord --config {profile}`"
    assert seen == [f"Session wizard — step {i + 1}/6: {s}" for i, s in enumerate(STEPS)]
    saved = tomllib.loads(profile.read_text())
    assert saved["robot"]["id"] == "left_arm" and saved["robot"]["port"] == "sim"
    assert saved["robot"]["cameras"]["wrist"] == {"type": "opencv", "index_or_path": "/dev/video2",
                                                  "width": 640, "height": 480, "fps": 30}
    assert saved["teleop"]["type"] == "keyboard"
    assert saved["dataset"]["single_task"] == "Stack the cubes"
    assert saved["dataset"]["num_episodes"] == 4 and saved["dataset"]["episode_time_s"] == 60.0
    assert saved["play_sounds"] is False and saved["theme"] == "light"
    assert "policy" not in saved


async def test_bad_numbers_are_refused_on_their_page():
    app = make_app(None, wizard=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        for _ in range(4):
            await pilot.press("ctrl+n")
        await pilot.pause(0.05)
        field(app, "dataset.single_task").value = "Stack"
        field(app, "dataset.fps").value = "thirty"
        await pilot.press("ctrl+n")
        await pilot.pause(0.05)
        assert "step 5/6: dataset" in screen_text(app)
        error = app.screen.query_one(f"#{field(app, 'dataset.fps').id}-error")
        assert str(error.render()) == "--dataset.fps: 'thirty' is not a number"
        await pilot.press("ctrl+b")
        await pilot.pause(0.05)
        assert "step 4/6: policy" in screen_text(app)


async def test_a_bad_camera_spec_names_the_fix():
    app = make_app(None, wizard=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("ctrl+n")
        field(app, "cameras").value = "front"
        await pilot.press("ctrl+n")
        await pilot.pause(0.05)
        assert "'front' should be name=source, e.g. front=sim" in screen_text(app)


async def test_escape_leaves_the_wizard_and_the_app_when_nothing_runs():
    app = make_app(None, wizard=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("escape")
        await pilot.pause(0.1)
    assert app.return_value == 0


def test_the_answers_become_the_clis_flags():
    values = {o.name: o.default for o in OPTIONS}
    values.update({"dataset.single_task": "Stack", "teleop.type": "none",
                   "policy.path": "outputs/act", "cameras": "front=sim"})
    argv = to_argv(values)
    assert "--robot.type=so101_follower" in argv and "--policy.path=outputs/act" in argv
    assert "--dataset.video=true" in argv and "--play_sounds=true" in argv
    assert not any(a.startswith("--teleop.") for a in argv)
    assert argv[-1] == "--robot.cameras={front: {type: sim, width: 640, height: 480, fps: 30}}"

