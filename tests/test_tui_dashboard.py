"""The console driven by its keys against a scripted engine: what the operator presses reaches
the engine as the right command, and what the engine reports reaches the screen."""

from __future__ import annotations

import functools
import os
import signal

import pytest
from tui_helpers import screen_text, scripted_app, shows, wait_for_text

from core import messages as m
from core.remote import EngineProcess
from tui.app import make_app
from tui.components.event_log import EventLog
from tui.components.servo_table import ServoTable
from tui.screens.confirm import StopScreen
from tui.screens.engine_failed import EngineFailedScreen
from tui.screens.help import HelpScreen
from tui.screens.wizard import WizardScreen
from tui.scripted_engine import ScriptedEngine


def kinds(engine):
    return [type(c).__name__ for c in engine.received]


async def test_the_dashboard_shows_phase_servos_and_events():
    app, engine, _ = scripted_app("fault")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        text = await wait_for_text(pilot, app, "missed 2")
    assert "RECORDING" in text and "ep 0 · 1 of 3" in text and "frames 90" in text
    assert "✖ elbow_flex" in text and "… wrist_roll" in text
    assert "FAULT follower bus: servo 5 (wrist_roll) not answering" in text
    assert "30.0 Hz  missed 2  dropped 1" in text


async def test_arrow_keys_and_letters_end_or_redo_the_episode():
    app, engine, _ = scripted_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("right", "n", "left", "r")
        await pilot.pause(0.2)
        lines = "\n".join(app.screen.query_one(EventLog).lines_written)
        assert await shows(pilot, app, "RESET")
    assert kinds(engine) == ["ExitEarly", "ExitEarly", "Rerecord", "Rerecord"]
    assert "episode 0 saved: 90 frames" in lines  # right: saved
    assert "episode 1 started" in lines  # n: the reset skipped
    assert "episode 1 discarded (rerecord)" in lines  # left: the episode in progress redone
    # r in the reset: the saved one too, with its real length
    assert "episode 0 discarded (rerecord): 240 frames" in lines


async def test_p_pauses_then_resumes():
    app, engine, _ = scripted_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("p")
        await pilot.pause(0.2)
        assert await shows(pilot, app, "PAUSED")
        await pilot.press("p")
        await pilot.pause(0.2)
        assert await shows(pilot, app, "RECORDING")
    assert kinds(engine) == ["Pause", "Resume"]


async def test_p_pressed_twice_before_the_next_snapshot_pauses_then_resumes():
    app, engine, _ = scripted_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        for _ in range(3):  # faster than the console polls the engine
            app.simulate_key("p")
        assert await shows(pilot, app, "PAUSED")
    assert kinds(engine) == ["Pause", "Resume", "Pause"]


async def test_emergency_stop_needs_no_confirmation():
    for key in ("space", "exclamation_mark"):
        app, engine, _ = scripted_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.2)
            await pilot.press(key)
            await pilot.pause(0.2)
            text = await wait_for_text(pilot, app, "session ended")
            assert not isinstance(app.screen, StopScreen)
        assert kinds(engine) == ["EmergencyStop"]
        assert "session ended (emergency_stop)" in text


async def test_stop_mid_episode_asks_whether_to_keep_the_episode():
    app, engine, _ = scripted_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("q")
        await pilot.pause(0.1)
        assert isinstance(app.screen, StopScreen)
        text = await wait_for_text(pilot, app, "Stop the session?")
        assert "Stop the session?" in text and "(90 frames)" in text
        await pilot.press("n")
        await pilot.pause(0.1)
        assert engine.received == [] and not isinstance(app.screen, StopScreen)
        await pilot.press("escape", "d")
        await pilot.pause(0.2)
        assert engine.received == [m.Stop(save_current=False)]
        assert await shows(pilot, app, "session ended (stopped), 0 episodes saved")
        await pilot.press("q")  # the session is over: q leaves
        await pilot.pause(0.1)
    assert app.return_value == 0


async def test_stop_and_save_keeps_the_episode_in_progress():
    app, engine, _ = scripted_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("escape", "s")
        await pilot.pause(0.2)
        assert await shows(pilot, app, "session ended (stopped), 1 episode saved")
    assert engine.received == [m.Stop(save_current=True)]


async def test_stop_during_the_reset_needs_no_confirmation():
    app, engine, _ = scripted_app("reset", start_at_s=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        assert await shows(pilot, app, "RESET")
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert kinds(engine) == ["Stop"]
        assert await shows(pilot, app, "session ended (stopped), 1 episode saved")


async def test_keys_are_remapped_from_the_profile():
    app, engine, _ = scripted_app(keys={"exit-early": "x", "emergency-stop": "e"})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        assert await shows(pilot, app, "x Next")
        await pilot.press("right", "space", "x")
        await pilot.pause(0.1)
        assert kinds(engine) == ["ExitEarly"]
        await pilot.press("e")
        await pilot.pause(0.1)
    assert kinds(engine) == ["ExitEarly", "EmergencyStop"]


async def test_unbound_keys_go_to_the_keyboard_teleoperator():
    app, engine, _ = scripted_app(forward_keys=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("a", "up", "right")
    assert engine.received == [m.TeleopKey("a"), m.TeleopKey("up"), m.ExitEarly()]


async def test_without_a_keyboard_teleop_other_keys_are_ignored():
    app, engine, _ = scripted_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("a", "up")
    assert engine.received == []


async def test_help_lists_the_keys_as_bound():
    app, _, _ = scripted_app(keys={"stop": "x"})
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("question_mark")
        await pilot.pause(0.1)
        assert isinstance(app.screen, HelpScreen)
        text = await wait_for_text(pilot, app, "lerecord keys")
        assert "→ / n" in text and "x              end the session; mid-episode" in text
        assert "Space / !" in text
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, HelpScreen)


async def test_t_cycles_the_themes_and_the_profile_picks_the_first():
    app, _, _ = scripted_app(theme="light")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        assert app.theme == "light"
        await pilot.press("t")  # the README's order: dark, light, high-contrast
        assert app.theme == "high-contrast"
        await pilot.press("t")
        assert app.theme == "dark"
        await pilot.press("t")
        assert app.theme == "light"
        await pilot.press("t")
        assert app.theme == "high-contrast"
        assert app.theme_variables["servo-fault"] == "#ff0000"


async def test_the_servo_table_rewrites_only_changed_cells():
    app, engine, clock = scripted_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        table = app.screen.query_one(ServoTable)
        first = table.cell_updates
        assert first == 6 * 6
        await pilot.pause(0.3)  # same telemetry polled again: nothing rewritten
        assert table.cell_updates == first
        clock.t += 0.5  # positions, goals, loads and currents move; temperatures don't
        await pilot.pause(0.2)
        changed = table.cell_updates - first
        assert 0 < changed < 6 * 6


async def test_an_engine_exception_is_shown_not_hung_on():
    clock_app, engine, clock = scripted_app()
    engine.fail_after_s = 4.0
    async with clock_app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        clock.t += 2
        text = await wait_for_text(pilot, clock_app, "stopped answering")
        assert isinstance(clock_app.screen, EngineFailedScreen)
        assert "RuntimeError: follower bus on /dev/ttyACM0 stopped answering" in text
        await pilot.press("q")
    assert clock_app.return_value == 1


async def test_a_killed_engine_process_is_reported():
    engine = EngineProcess(None, functools.partial(ScriptedEngine, episode_time_s=60))
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(50):
            await pilot.pause(0.1)
            if "RECORDING" in screen_text(app):
                break
        os.kill(engine.pid, signal.SIGKILL)
        for _ in range(50):
            await pilot.pause(0.1)
            if isinstance(app.screen, EngineFailedScreen):
                break
        assert await shows(pilot, app, "engine process died (killed by SIGKILL)")


async def test_ctrl_q_mid_episode_asks_like_q():
    app, engine, _ = scripted_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("ctrl+q")
        await pilot.pause(0.1)
        assert isinstance(app.screen, StopScreen)
        await pilot.press("n")
    assert engine.received == []


def test_display_data_without_rerun_says_the_console_shows_it(monkeypatch):
    from types import SimpleNamespace

    from core.rerun_stream import RerunStreamer
    from tui.app import display_data

    monkeypatch.setattr(RerunStreamer, "available", staticmethod(lambda: False))
    config = SimpleNamespace(display_data=True, dataset=SimpleNamespace(repo_id="me/x"))
    streamer, notes = display_data(config)
    assert streamer is None
    assert notes == [
        "--display_data: rerun-sdk is not installed (pip install 'lerecord[rerun]'); "
        "the console already shows the cameras, servos and timings"
    ]
    assert display_data(SimpleNamespace(display_data=False)) == (None, [])


async def test_notes_open_the_event_log():
    app, _, _ = scripted_app(notes=["--display_data: rerun-sdk is not installed"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        assert app.screen.query_one(EventLog).lines_written[0] == (
            "--display_data: rerun-sdk is not installed"
        )


async def test_with_a_keyboard_teleop_w_and_t_drive_the_arm():
    app, engine, _ = scripted_app(forward_keys=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("w", "t")
        await pilot.pause(0.1)
        assert app.theme == "dark"
        assert not isinstance(app.screen, WizardScreen)
    assert engine.received == [m.TeleopKey("w"), m.TeleopKey("t")]


def test_a_profile_with_an_unknown_key_binding_or_theme_is_refused_in_one_line():
    from types import SimpleNamespace

    from hardware.errors import ConfigError
    from tui.app import console_options

    good = console_options(SimpleNamespace(keys={"stop": "x"}, theme="light", teleop=None))
    assert good == {
        "theme": "light",
        "keys": {"stop": "x"},
        "forward_keys": False,
        "teleop_keys": [],
        "strategy": None,
        "interactive": False,
    }
    with pytest.raises(ConfigError) as bad_key:
        console_options(SimpleNamespace(keys={"next": "x"}, theme=None, teleop=None))
    assert str(bad_key.value) == (
        "keys: unknown binding 'next'; the console's are emergency-stop, help, theme, "
        "exit-early, rerecord, stop, quit, pause, resume, mark-success, mark-failure, review, "
        "highlight-save, push, take-over, give-back, start, reset, wizard"
    )
    with pytest.raises(ConfigError, match="theme: unknown theme 'solarized'; known: dark"):
        console_options(SimpleNamespace(keys={}, theme="solarized", teleop=None))


async def test_fault_rows_take_the_themes_fault_colour_when_the_theme_changes():
    app, _, _ = scripted_app("fault")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        table = app.screen.query_one(ServoTable)

        def elbow_colour():
            line = table.render_line(3)  # header, shoulder_pan, shoulder_lift, elbow_flex
            assert line.text.startswith(" ✖ elbow_flex")
            return next(iter(line)).style.color.triplet.hex

        assert elbow_colour() == "#ff5f6d"  # dark theme's $servo-fault
        app.theme = "light"
        await pilot.pause(0.2)
        assert elbow_colour() == "#c62828"  # light theme's


async def test_input_the_engine_refuses_is_one_line_and_exit_status_2(tmp_path, monkeypatch):
    """A session the engine refuses at its start (here: an upload with no Hub token): the
    message as written, no class path, on the dashboard and in the summary; exit status 2."""
    from pathlib import Path

    from core.config import parse_record_args
    from core.session import Session

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    example = Path(__file__).parents[1] / "examples/sim_session.toml"
    config = parse_record_args(
        ["--config", str(example), f"--dataset.root={tmp_path / 'd'}", "--dataset.push_to_hub=true"]
    )
    app = make_app(Session(config))
    async with app.run_test(size=(100, 30)) as pilot:
        text = await wait_for_text(pilot, app, "The session engine failed")
        assert "no Hugging Face token found" in text and "Error:" not in text
    line = app.engine_error
    assert line.startswith("no Hugging Face token found") and "\n" not in line
    assert app.exit_status() == 2
    assert app.summary() == [f"lerecord: {line}"]
    assert not (tmp_path / "d").exists()
