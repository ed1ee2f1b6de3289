"""The engine in its own process: commands go in, telemetry and events come out, and either side
dying is handled (the app learns why the engine died; the engine ends the session when the app
or the SSH connection goes)."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import messages as m
from core.remote import EngineProcess
from tui.scripted_engine import ScriptedEngine

ROOT = Path(__file__).resolve().parents[1]


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _collect(engine, events, timeout=10.0, until=None):
    def poll():
        engine.snapshot()
        events.extend(engine.events())
        return until(events) if until else engine.finished

    return _wait(poll, timeout)


def test_commands_reach_the_engine_and_events_come_back():
    engine = EngineProcess(None, functools.partial(ScriptedEngine, episode_time_s=60))
    engine.start()
    events: list = []
    try:
        assert _collect(
            engine, events, until=lambda ev: any(isinstance(e, m.EpisodeStarted) for e in ev)
        )
        assert engine.snapshot().phase == "recording"
        engine.send(m.ExitEarly())
        assert _collect(
            engine, events, until=lambda ev: any(isinstance(e, m.EpisodeSaved) for e in ev)
        )
        assert _wait(lambda: engine.snapshot().phase == "reset")
        engine.send(m.Stop())
        assert _collect(engine, events)
    finally:
        engine.close()
    ended = [e for e in events if isinstance(e, m.SessionEnded)]
    assert [e.reason for e in ended] == ["stopped"] and ended[0].episodes_saved == 1
    assert engine.error is None and engine.finished


def test_an_engine_exception_reaches_the_app_as_text():
    engine = EngineProcess(None, functools.partial(ScriptedEngine, fail_after_s=0.2))
    engine.start()
    try:
        assert _wait(lambda: engine.snapshot() is not None and engine.finished)
    finally:
        engine.close()
    assert "RuntimeError: follower bus on /dev/ttyACM0 stopped answering" in engine.error


def test_a_killed_engine_is_reported_with_its_signal():
    engine = EngineProcess(None, ScriptedEngine)
    engine.start()
    try:
        assert _wait(lambda: engine.snapshot().phase == "recording")
        os.kill(engine.pid, signal.SIGKILL)
        assert _wait(lambda: engine.snapshot() is not None and engine.finished)
    finally:
        engine.close()
    assert engine.error == "engine process died (killed by SIGKILL)"


APP = """
import functools, sys, time
from core.remote import EngineProcess
from tui.scripted_engine import ScriptedEngine
if __name__ == "__main__":
    engine = EngineProcess(None, functools.partial(ScriptedEngine, closed_marker=sys.argv[1]))
    engine.start()
    while engine.snapshot().phase != "recording":
        time.sleep(0.05)
    print(engine.pid, flush=True)
    time.sleep(60)
"""


def _start_app(tmp_path):
    script = tmp_path / "app.py"
    script.write_text(APP)
    marker = tmp_path / "closed"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    app = subprocess.Popen(
        [sys.executable, str(script), str(marker)], stdout=subprocess.PIPE, env=env, text=True
    )
    child = int(app.stdout.readline())
    return app, child, marker


def _gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_engine_ends_the_session_when_the_app_is_killed(tmp_path):
    app, child, marker = _start_app(tmp_path)
    app.kill()
    app.wait()
    assert _wait(marker.exists), "the engine child did not close the session"
    assert marker.read_text() == "closed episodes_saved=0\n"
    assert _wait(lambda: _gone(child))


def test_the_engine_ends_the_session_on_hangup(tmp_path):
    app, child, marker = _start_app(tmp_path)
    try:
        os.kill(child, signal.SIGHUP)  # what the terminal sends when the SSH connection drops
        assert _wait(marker.exists), "the engine child did not close the session on SIGHUP"
    finally:
        app.kill()
        app.wait()
    assert _wait(lambda: _gone(child))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
async def test_the_console_draws_at_low_priority_and_its_engine_does_not():
    import threading

    from tui.app import make_app

    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())  # as the user ran it
    engine = EngineProcess(None, functools.partial(ScriptedEngine, episode_time_s=60))
    app = make_app(engine, ui_nice=7)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        ui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        child = os.getpriority(os.PRIO_PROCESS, engine.pid)
    try:  # give this test thread its priority back where allowed (root, CAP_SYS_NICE)
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), base)
    except PermissionError:
        pass
    assert ui == min(19, base + 7) and child == base
