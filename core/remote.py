"""Run the session engine in a child process and talk to it over a pipe.

The console app draws with Textual, which costs a good part of a core and holds the GIL; the
engine's control loop must never wait on it. `EngineProcess` starts the engine in a spawned
process and offers the app the engine's own interface (`start`, `send`, `snapshot`, `events`,
`close`, `finished`).

The pipe is pull-based: the child sends one telemetry snapshot (with the events gathered since
the last one) only after the app asked for it, so the pipe never fills and the child never blocks
on a busy UI. The child ends the session cleanly (`close()`: motors safe, dataset consistent) when
the app asks, when the app's end of the pipe closes (the app died), when its parent changes, and
on SIGHUP or SIGTERM (the SSH connection dropped). If the engine fails, `error` says why: the
exception text sent by the child, or the child's exit code when it died without a word.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.process
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Protocol

from core.messages import Command, Event, SessionEnded, Telemetry
from hardware.errors import ConfigError, DeviceError

log = logging.getLogger(__name__)


class DrivenEngine(Protocol):
    """What the child process drives: `core.session.Session` (or a test's engine)."""

    def start(self) -> None: ...
    def send(self, command: Command) -> None: ...
    def snapshot(self) -> Telemetry: ...
    def events(self) -> list[Event]: ...
    def close(self) -> None: ...


class Engine(DrivenEngine, Protocol):
    """What a client holds (`EngineProcess`, the scripted engine): also whether it has ended."""

    finished: bool
    error: str | None  # why the engine failed (one line), once it has
    bad_input: bool  # the failure was the user's input (a ConfigError): exit status 2


EngineFactory = Callable[[Any], DrivenEngine]


def session_factory(config: Any) -> DrivenEngine:
    """The real engine: `core.session.Session(config)` (imported in the child only)."""
    from core.session import Session

    return Session(config)


# ---- child side --------------------------------------------------------------------------------


def _redirect_output(path: str | None) -> None:
    """Keep the child's prints and warnings off the terminal the console draws on."""
    target = os.open(path or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(target, 1)
    os.dup2(target, 2)
    os.close(target)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        force=True,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _child_main(conn, factory: EngineFactory, config: Any, parent_pid: int, output: str | None):
    _redirect_output(output)
    ending = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the app decides what a Ctrl-C means
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: ending.set())
    engine = None
    reason = "closed"
    try:
        engine = factory(config)
        engine.start()
        wanted = False
        while not ending.is_set():
            if conn.poll(0.05):
                try:
                    kind, payload = conn.recv()
                except (EOFError, OSError):
                    reason = "parent gone"
                    break
                if kind == "cmd":
                    engine.send(payload)
                elif kind == "want":
                    wanted = True
                elif kind == "close":
                    break
            if os.getppid() != parent_pid:
                reason = "parent gone"
                break
            if wanted:
                conn.send(("tick", engine.snapshot(), engine.events()))
                wanted = False
        else:
            reason = "signal"
        log.info("engine child ending: %s", reason)
        engine.close()
        _send_quietly(conn, ("tick", engine.snapshot(), engine.events()))
        _send_quietly(conn, ("closed", reason))
    except BaseException as error:  # noqa: BLE001 - every failure must reach the app
        text = failure_line(error)
        log.error("engine failed: %s\n%s", text, traceback.format_exc())
        _send_quietly(conn, ("error", text, isinstance(error, ConfigError)))
        if engine is not None:
            try:
                engine.close()
            except Exception:  # noqa: BLE001
                log.exception("engine close after failure failed")
        sys.exit(1)


def failure_line(error: BaseException) -> str:
    """The one line a user reads: a lerecord error's own message (it names the problem and the
    fix); anything else (a bug) with its exception type."""
    if isinstance(error, (ConfigError, DeviceError)):
        return str(error)
    return "".join(traceback.format_exception_only(type(error), error)).strip()


def _send_quietly(conn, message) -> None:
    try:
        conn.send(message)
    except (OSError, ValueError):
        pass  # the app is gone; nobody to tell


# ---- app side ----------------------------------------------------------------------------------


class EngineProcess:
    """The engine in a spawned child process, behind the engine interface.

    `factory(config)` builds the engine in the child; it and `config` must pickle (a module-level
    function or a `functools.partial` of a class). `output` is a file for the child's stdout,
    stderr and logging (default: discarded).
    """

    def __init__(
        self, config: Any, factory: EngineFactory = session_factory, output: str | None = None
    ):
        self.config = config
        self.factory = factory
        self.output = output
        self.error: str | None = None
        self.bad_input = False
        self.finished = False
        self._latest = Telemetry()
        self._events: list[Event] = []
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._asked = False
        self._closed = False  # we asked the child to close
        self._said_goodbye = False  # the child reported the session's end

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        """Spawn the engine (once; later calls do nothing)."""
        if self._process is not None:
            return
        context = multiprocessing.get_context("spawn")
        parent_end, child_end = context.Pipe(duplex=True)
        self._process = context.Process(
            target=_child_main,
            args=(child_end, self.factory, self.config, os.getpid(), self.output),
            name="lerecord-engine",
            daemon=False,
        )
        # The resource tracker and the spawn want real stdio descriptors; a running Textual app
        # has replaced sys.stdout/stderr with capture objects that have none.
        streams = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = sys.__stdout__ or sys.stdout, sys.__stderr__ or sys.stderr
        try:
            self._process.start()
        finally:
            sys.stdout, sys.stderr = streams
        child_end.close()
        self._conn = parent_end

    def send(self, command: Command) -> None:
        self._put(("cmd", command))

    def snapshot(self) -> Telemetry:
        self._drain()
        if not self._asked and not self.finished:
            self._asked = self._put(("want", None))
        return self._latest

    def events(self) -> list[Event]:
        self._drain()
        events, self._events = self._events, []
        return events

    def close(self, timeout: float = 15.0) -> None:
        """Ask the engine to end the session and wait for it (idempotent)."""
        if self._closed or self._process is None:
            return
        self._closed = True
        self._put(("close", None))
        deadline = time.monotonic() + timeout
        while self._process.is_alive() and time.monotonic() < deadline:
            self._drain(wait=0.05)
        if self._process.is_alive():
            log.error("engine did not end within %.0f s; terminating it", timeout)
            self._process.terminate()
            self._process.join(2.0)
        self._drain()
        self.finished = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # ---- internals

    def _put(self, message) -> bool:
        if self._conn is None:
            return False
        try:
            self._conn.send(message)
            return True
        except (OSError, ValueError):
            self._child_gone()
            return False

    def _drain(self, wait: float = 0.0) -> None:
        """Read everything the child sent so far, without blocking (unless `wait`)."""
        conn = self._conn
        if conn is None:
            return
        try:
            while conn.poll(wait):
                wait = 0.0
                kind, *payload = conn.recv()
                if kind == "tick":
                    self._latest, events = payload
                    self._events.extend(events)
                    self._asked = False
                    if any(isinstance(e, SessionEnded) for e in events):
                        self.finished = self._said_goodbye = True
                elif kind == "error":
                    self.error, self.bad_input = payload[0], payload[1]
                    self.finished = True
                elif kind == "closed":
                    self.finished = self._said_goodbye = True
        except (EOFError, OSError):
            self._child_gone()

    def _child_gone(self) -> None:
        """The pipe broke: the child has ended; learn how."""
        self.finished = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            self._process.join(2.0)
            code = self._process.exitcode
            if self.error is None and not (self._closed or self._said_goodbye):
                how = "still running" if code is None else _describe_exit(code)
                self.error = f"engine process died ({how})"


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
