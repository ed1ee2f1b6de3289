"""Headless mode: the same session in-process, printing its console output.

A line per event, and the step block when logging. Keys come from the terminal when stdin is a
TTY (n/→ end the episode, r/← re-record, q/Esc stop, h success, m failure: while recording
they end the episode, during the reset they mark the episode just saved); SIGINT, SIGTERM and
SIGHUP end the session cleanly at any instant (see `core.signals`): the episode in progress is
discarded, saved episodes stay, motors are left safe, the exit code is 128+N.
With `--display_data=true` the snapshots this loop polls also go to a Rerun viewer.
"""

from __future__ import annotations

import sys
from typing import TextIO

from core import messages as m
from core.console import OUTCOME_KEYS
from core.session import Session
from core.signals import COMPLETED, FAILED, STOP_SIGNALS
from hardware.base import ExplainsControls

POLL_S = 0.05
KEYS: dict[str, m.Command] = {
    "n": m.ExitEarly(),
    "right": m.ExitEarly(),
    "r": m.Rerecord(),
    "left": m.Rerecord(),
    "q": m.Stop(save_current=True),
    "escape": m.Stop(save_current=True),
    **{key: m.MarkOutcome(outcome) for outcome, key in OUTCOME_KEYS.items()},
}


def key_command(key: str, strategy_keys: dict[str, str] | None = None) -> m.Command:
    """What a key pressed in the terminal means in headless mode (a rollout strategy's keys,
    e.g. highlight's `s` / `h`, first)."""
    if strategy_keys and key in strategy_keys:
        return m.StrategyKey(strategy_keys[key])
    return KEYS.get(key, m.TeleopKey(key))


def run_headless(config, out: TextIO | None = None, session: Session | None = None) -> int:
    """Run the session to its end; the exit code (see `core.signals`)."""
    from core.console import ConsolePrinter

    out = out or sys.stdout
    session = session or Session(config)
    printer = ConsolePrinter(out, steps=config.log)
    installed = STOP_SIGNALS.install()  # before any device opens (the CLI did it already)
    try:
        session.start()  # a signal meanwhile raises Interrupted; start() leaves nothing open
        STOP_SIGNALS.hand_to(lambda: session.send(m.Stop(save_current=False)))
        _watch(session, printer, config, out)
    finally:
        session.close()  # idempotent: motors safe, dataset consistent, whatever happened
        STOP_SIGNALS.hand_to(None)
        if installed:
            STOP_SIGNALS.restore()
    _drain(session, printer)
    if session.end_reason == "error":
        return FAILED
    return STOP_SIGNALS.exit_code(COMPLETED)


def _watch(session: Session, printer, config, out: TextIO) -> None:
    """Print the session's events and steps until it ends."""
    streamer = _open_rerun(config, out)
    keys = None
    commands = _interactive(session, out)
    try:
        if commands is None:
            keys = _start_keys(session)
        _drain(session, printer)  # "Session started" first, then the teleop's keys
        _show_teleop_keys(session, out, keys is not None)
        if commands is not None:
            commands.start()
        while not session.wait(POLL_S):
            _drain(session, printer, commands)
            step = session.last_step()
            if step is not None:
                printer.step(step)
            if streamer is not None:
                streamer = _stream(streamer, session.snapshot(), out)
    finally:
        if keys is not None:
            keys.stop()


def _drain(session: Session, printer, commands=None) -> None:
    for event in session.events():
        printer.event(event)
        if commands is not None and isinstance(event, m.PhaseChanged):
            commands.phase(event.phase)


def _interactive(session: Session, out: TextIO):
    """`lerecord rollout --interactive=true`: commands read from stdin lines; else None."""
    rollout = session.config.rollout
    if rollout is None or not rollout.interactive:
        return None
    from core.interactive import InteractiveCommands

    return InteractiveCommands(sys.stdin, session.send, out)


def _open_rerun(config, out: TextIO):
    """`--display_data=true`: a Rerun streamer, or None after one line saying why not."""
    if not getattr(config, "display_data", False):
        return None
    from core.rerun_stream import MISSING_NOTE, RerunStreamer

    if not RerunStreamer.available():
        out.write(MISSING_NOTE + "\n")
        out.flush()
        return None
    return RerunStreamer.for_session(config)


def _stream(streamer, telemetry: m.Telemetry, out: TextIO):
    """Log one snapshot; a viewer that fails is dropped with one line (the session goes on)."""
    try:
        streamer.log(telemetry)
    except Exception as error:  # noqa: BLE001 - the viewer is optional, the recording is not
        out.write(f"--display_data: streaming to Rerun stopped: {type(error).__name__}: {error}\n")
        out.flush()
        return None
    return streamer


def _show_teleop_keys(session: Session, out: TextIO, have_keys: bool) -> None:
    """Print the keyboard teleoperator's keys once (or why it gets none)."""
    teleop = session.devices.teleop if session.devices is not None else None
    if not isinstance(teleop, ExplainsControls) or not (controls := teleop.mapping_help()):
        return
    if not have_keys:
        out.write("Keyboard teleop: stdin is not a terminal, so no keys reach it\n")
        return
    out.write("Teleop keys: " + ", ".join(f"{key} {what}" for key, what in controls) + "\n")
    out.flush()


def _start_keys(session: Session):
    """Read keys from the terminal when stdin is one; None otherwise."""
    if not sys.stdin.isatty():
        return None
    from core.strategies import strategy_keys
    from core.terminal_keys import TerminalKeys

    mine = strategy_keys(session.config.rollout)
    keys = TerminalKeys(sys.stdin.fileno(), lambda key: session.send(key_command(key, mine)))
    keys.start()
    return keys
