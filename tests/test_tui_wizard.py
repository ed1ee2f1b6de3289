"""The session wizard: each page checked as the operator leaves it, the profile written as TOML
with what was typed, and the answers turned into the flags the CLI takes."""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
from camera_clips import RED, close, index_of, write_clip
from tui_helpers import screen_text, wait_for_text

from core.config import parse_record_args
from tui.app import make_app
from tui.components.camera_preview import CameraImage
from tui.detect import Detected
from tui.options import OPTIONS, STEPS, to_argv
from tui.screens.wizard import WizardScreen
from tui.scripted_engine import ScriptedEngine

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def field(app, name):
    option = next(o for o in OPTIONS if o.name == name)
    return app.screen.query_one(f"#{option.field_id}")


DETECTED = Detected(
    ports=(("/dev/ttyACM0", "servo ids 1, 2, 3, 4, 5, 6"), ("/dev/ttyUSB0", "no servo answered")),
    cameras=(("/dev/video0", "/dev/video0 640x480 @ 30 fps"),),
)


def wizard_app(**options):
    return make_app(None, wizard=True, detector=lambda: DETECTED, **options)


async def test_the_wizard_walks_every_page_saves_the_profile_and_starts(tmp_path):
    profile = tmp_path / "profiles" / "pick.toml"
    started = []

    def start_engine(config):
        started.append(config)
        return ScriptedEngine(config)

    app = wizard_app(start_engine=start_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        assert isinstance(app.screen, WizardScreen)
        seen = []
        for step in STEPS:
            text = await wait_for_text(pilot, app, f"step {STEPS.index(step) + 1}/6")
            seen.append(text.splitlines()[0].strip())
            if step == "robot":
                assert "/dev/ttyACM0  servo ids 1, 2, 3, 4, 5, 6" in text
                field(app, "robot.port").value = "sim"
                field(app, "robot.id").value = "left_arm"
            if step == "cameras":
                assert "/dev/video0    /dev/video0 640x480 @ 30 fps" in text
                field(app, "cameras").value = "front=sim, wrist=/dev/video2"
                await pilot.press("ctrl+n")  # no such camera here: the page says so, stays
                assert "wrist=/dev/video2: no such camera" in await wait_for_text(
                    pilot, app, "no such camera"
                )
                assert "step 2/6: cameras" in screen_text(app)
                field(app, "cameras").value = "front=sim, wrist=sim@320x240"
                field(app, "camera_fps").value = "15"
            if step == "teleop":
                field(app, "teleop.type").value = "keyboard"
            if step == "dataset":
                await pilot.press("ctrl+n")  # the task is still empty
                assert "--dataset.repo_id is required" in await wait_for_text(
                    pilot, app, "required"
                )
                field(app, "dataset.repo_id").value = "local/stack"
                await pilot.press("ctrl+n")  # the task is still empty
                assert "--dataset.single_task is required" in await wait_for_text(
                    pilot, app, "single_task is required"
                )
                field(app, "dataset.single_task").value = "Stack the cubes"
                field(app, "dataset.num_episodes").value = "4"
            if step == "options":
                field(app, "play_sounds").value = False
                field(app, "theme").value = "light"
                field(app, "profile").value = str(profile)
            await pilot.press("ctrl+n")
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        assert not isinstance(app.screen, WizardScreen)
        assert app.theme == "light"
        assert "session started" in await wait_for_text(pilot, app, "session started")
    assert seen == [f"Session wizard — step {i + 1}/6: {s}" for i, s in enumerate(STEPS)]
    saved = tomllib.loads(profile.read_text())
    assert saved["robot"]["id"] == "left_arm" and saved["robot"]["port"] == "sim"
    wrist = saved["robot"]["cameras"]["wrist"]
    assert (wrist["type"], wrist["width"], wrist["height"], wrist["fps"]) == ("sim", 320, 240, 15)
    assert saved["robot"]["cameras"]["front"]["fps"] == 15
    assert saved["teleop"]["type"] == "keyboard"
    assert saved["dataset"]["single_task"] == "Stack the cubes"
    assert saved["dataset"]["num_episodes"] == 4
    assert saved["play_sounds"] is False and saved["theme"] == "light"
    assert "policy" not in saved
    (config,) = started
    assert parse_record_args(["--config", str(profile)]) == config
    assert config.teleop.type == "keyboard" and config.dataset.num_episodes == 4
    front = config.robot.cameras["front"]
    assert (front.width, front.height, front.fps) == (640, 480, 15)


async def test_the_clis_parser_speaks_under_the_field_it_names(tmp_path):
    app = wizard_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        for _ in range(2):
            await pilot.press("ctrl+n")
        field(app, "teleop.type").value = "none"  # and no policy: nothing drives the arm
        for _ in range(2):
            await pilot.press("ctrl+n")
        field(app, "dataset.single_task").value = "Stack"
        field(app, "dataset.repo_id").value = "me/pick place"
        await pilot.press("ctrl+n")
        field(app, "profile").value = str(tmp_path / "p.toml")
        await pilot.press("ctrl+n")
        text = await wait_for_text(pilot, app, "is not a repo id")
        assert "step 5/6: dataset" in text
        field(app, "dataset.repo_id").value = "me/pick_place"
        for _ in range(2):
            await pilot.press("ctrl+n")
        text = await wait_for_text(pilot, app, "nothing to drive the robot")
        assert "step 3/6: teleop" in text
    assert not (tmp_path / "p.toml").exists()


async def test_bad_numbers_are_refused_on_their_page():
    app = wizard_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        for _ in range(4):
            await pilot.press("ctrl+n")
        await pilot.pause(0.05)
        field(app, "dataset.repo_id").value = "me/stack"
        field(app, "dataset.single_task").value = "Stack"
        field(app, "dataset.fps").value = "thirty"
        await pilot.press("ctrl+n")
        await pilot.pause(0.05)
        assert "step 5/6: dataset" in screen_text(app)
        error = app.screen.query_one(f"#{field(app, 'dataset.fps').id}-error")
        assert str(error.render()) == "--dataset.fps: got 'thirty'; expected a whole number"
        await pilot.press("ctrl+b")
        await pilot.pause(0.05)
        assert "step 4/6: policy" in screen_text(app)


async def test_a_bad_camera_spec_names_the_fix():
    app = wizard_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("ctrl+n")
        field(app, "cameras").value = "front"
        await pilot.press("ctrl+n")
        await pilot.pause(0.05)
        assert "'front' should be name=source, e.g. front=sim" in screen_text(app)


async def test_escape_leaves_the_wizard_and_the_app_when_nothing_runs():
    app = wizard_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("escape")  # one Esc only asks
        await pilot.pause(0.1)
        assert "Leave the wizard?" in screen_text(app)
        await pilot.press("n")
        await pilot.pause(0.1)
        assert isinstance(app.screen, WizardScreen)
        await pilot.press("escape", "y")
        await pilot.pause(0.1)
    assert app.return_value == 0


def test_the_answers_become_the_clis_flags():
    values = {o.name: o.default for o in OPTIONS}
    values.update(
        {
            "dataset.single_task": "Stack",
            "teleop.type": "none",
            "policy.path": "outputs/act",
            "cameras": "front=sim",
        }
    )
    argv = to_argv(values)
    assert "--robot.type=so101_follower" in argv and "--policy.path=outputs/act" in argv
    assert "--dataset.video=true" in argv and "--play_sounds=true" in argv
    assert not any(a.startswith("--teleop.") for a in argv)
    assert argv[-1] == "--robot.cameras={front: {type: sim, width: 640, height: 480, fps: 30}}"


def _preview_threads() -> list[threading.Thread]:
    names = ("wizard-preview", "camera-preview")
    return [t for t in threading.enumerate() if t.name in names and t.is_alive()]


async def _live_line(pilot, app, needle: str, timeout: float = 10.0) -> str:
    """The cameras page's live-preview line once it holds `needle` and the camera is open (or
    failed); read from the widget, as long paths wrap on screen."""
    line = app.screen.query_one("#camera-live")
    for _ in range(int(timeout / 0.05)):
        text = str(line.render())
        if needle in text and "opening" not in text:
            break
        await pilot.pause(0.05)
    return str(line.render())


async def _live_pictures(pilot, app, wanted: int, timeout: float = 10.0) -> list:
    """The distinct pictures the cameras page's preview draws, until `wanted` of them."""
    image = app.screen.query_one("#camera-picture", CameraImage)
    seen, thumbs = [], []
    for _ in range(int(timeout / 0.05)):
        drawn = [(s.text, s.style) for line in image._lines for s in line]
        if drawn and drawn not in seen:
            seen.append(drawn)
            thumbs.append(image.thumb)
            if len(seen) >= wanted:
                break
        await pilot.pause(0.05)
    return thumbs


async def test_the_cameras_page_plays_the_camera_live_and_leaving_it_stops_the_camera():
    app = wizard_app()
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause(0.1)
        assert app.screen.live is None and not _preview_threads()
        await pilot.press("ctrl+n")  # the cameras page, "front=sim" by default
        assert "Live: sim" in await wait_for_text(pilot, app, "Live: sim")
        thumbs = await _live_pictures(pilot, app, wanted=3)
        assert len(thumbs) == 3, "the sim camera's picture did not change"
        assert all(t.name == "sim" and t.width == 64 for t in thumbs)
        live = app.screen.live
        assert live.thread.is_alive() and len(_preview_threads()) == 2  # ours and the camera's
        await pilot.press("ctrl+n")  # the teleop page
        for _ in range(100):  # however long the page takes to change on a busy machine
            if app.screen.live is None:
                break
            await pilot.pause(0.05)
        assert app.screen.live is None
        for _ in range(100):
            if not _preview_threads():
                break
            await pilot.pause(0.05)
        assert not _preview_threads(), "the camera was left open"
        assert live.error is None


async def test_a_video_file_named_in_the_field_plays_its_frames(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", frames=6, fps=10)
    app = wizard_app()
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("ctrl+n")
        field(app, "camera_size").value = "64x48"  # the clip's size and rate: the preview
        field(app, "camera_fps").value = "10"  # opens the camera as the session will
        field(app, "cameras").value = f"front={clip}, wrist=sim"
        assert await _live_line(pilot, app, f"Live: {clip}") == f"Live: {clip}"
        await pilot.pause(0.1)
        thumbs = [t for t in await _live_pictures(pilot, app, wanted=4) if t.name == str(clip)]
        assert len(thumbs) >= 2
        images = [np.frombuffer(t.rgb, np.uint8).reshape(t.height, t.width, 3) for t in thumbs]
        assert all(close(image[2, 2], RED) for image in images)
        assert len({index_of(image) for image in images}) >= 2  # the clip's frames go by
        await pilot.press("escape", "y")
        await pilot.pause(0.1)
    for _ in range(100):
        if not _preview_threads():
            break
        time.sleep(0.05)
    assert not _preview_threads(), "the camera was left open"


async def test_a_source_that_does_not_open_says_so_on_the_page(tmp_path):
    app = wizard_app()
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("ctrl+n")
        field(app, "cameras").value = f"front={tmp_path / 'nothing.mp4'}"
        text = await _live_line(pilot, app, "no such device")
        missing = tmp_path / "nothing.mp4"
        assert text.startswith(f"Live: {missing}: ") and "no such device or file" in text


async def test_the_preview_opens_the_camera_at_the_size_the_page_asks_for(tmp_path):
    """As the session will: a camera that cannot give the size asked says so on the page, and
    plays once the size is one it gives."""
    clip = write_clip(tmp_path / "clip.mp4", frames=6, fps=10)  # 64x48
    app = wizard_app()
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("ctrl+n")
        field(app, "camera_size").value = "640x480"
        field(app, "camera_fps").value = "10"
        field(app, "cameras").value = f"front={clip}"
        text = await _live_line(pilot, app, "64x48")
        assert "gives 64x48" in text and "640x480" in text, text
        assert app.screen.live.camera["width"] == 640
        field(app, "camera_size").value = "64x48"
        await pilot.pause(0.1)  # the field's change reaches the page: the preview reopens
        assert await _live_line(pilot, app, f"Live: {clip}") == f"Live: {clip}"
        thumbs = [t for t in await _live_pictures(pilot, app, wanted=2) if t.name == str(clip)]
        assert thumbs and (thumbs[0].width, thumbs[0].height) == (64, 48)
        assert app.screen.live.camera["width"] == 64 and app.screen.live.error is None
        await pilot.press("escape", "y")
        await pilot.pause(0.1)


async def test_the_wizard_with_the_fixture_policy_builds_a_session_that_starts(tmp_path):
    """The policy page reads the checkpoint: its camera (front, 64x48) fills the cameras page;
    the profile saved starts a real session (the engine in process) driven by the policy."""
    from pathlib import Path

    from core.session import Session

    policy = Path(__file__).parent / "data/lerobot-0.6.1/act_policy"
    engines = []

    def start_engine(config):
        engines.append(Session(config))
        return engines[-1]

    app = wizard_app(start_engine=start_engine)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause(0.1)
        field(app, "robot.port").value = "sim"
        field(app, "robot.id").value = "wizard_arm"
        await pilot.press("ctrl+n", "ctrl+n")  # robot, then cameras as they are
        field(app, "teleop.type").value = "none"
        await pilot.press("ctrl+n")
        field(app, "policy.path").value = str(tmp_path / "no_such_policy")
        await pilot.press("ctrl+n")  # refused on its page, before anything starts
        assert "--policy.path" in await wait_for_text(pilot, app, "--policy.path: ")
        assert "step 4/6: policy" in screen_text(app)
        field(app, "policy.path").value = str(policy)
        await pilot.press("ctrl+n")
        await wait_for_text(pilot, app, "step 5/6")
        assert field(app, "cameras").value == "front=sim@64x48"
        field(app, "dataset.repo_id").value = "local/wizard_policy"
        field(app, "dataset.single_task").value = "Pick the cube"
        field(app, "dataset.root").value = str(tmp_path / "dataset")
        field(app, "dataset.num_episodes").value = "1"
        field(app, "dataset.episode_time_s").value = "30"
        await pilot.press("ctrl+n")
        field(app, "play_sounds").value = False
        field(app, "dataset.push_to_hub").value = False
        field(app, "profile").value = str(tmp_path / "policy.toml")
        await pilot.press("ctrl+n")
        text = await wait_for_text(pilot, app, "policy · this computer", timeout=60)
        assert app.engine_error is None
        assert "policy · this computer" in text and "● RECORDING" in text
        await pilot.press("space")  # E-STOP: the session ends at once
        assert "E-STOPPED" in await wait_for_text(pilot, app, "E-STOPPED", timeout=30)
    (session,) = engines
    session.close()
    config = parse_record_args(["--config", str(tmp_path / "policy.toml")])
    front = config.robot.cameras["front"]
    assert (front.width, front.height) == (64, 48)
    assert str(config.policy.path) == str(policy)
