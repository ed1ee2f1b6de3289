"""SIGINT, SIGTERM and SIGHUP, from the command's first instruction to its last.

`lerecord` installs these handlers before it parses a flag or opens a device, so no signal ever
kills a half-open session. Until a running session takes them over (`hand_to`), the first signal
raises `Interrupted` in the main thread: whatever was starting unwinds through its own cleanup
(devices disconnected, torque off, a dataset folder it created removed). Once a session runs, a
signal asks it to stop (the episode in progress is discarded, saved episodes stay). Later signals
are only noted: a second Ctrl-C never breaks a cleanup in progress.

Exit codes (`exit_code`): 0 completed, 2 refused input, 1 device or disk failure, 128+N for
signal N.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

NAMES = ("SIGINT", "SIGTERM", "SIGHUP")
SIGNALS = tuple(getattr(signal, name) for name in NAMES if hasattr(signal, name))
COMPLETED, FAILED, REFUSED = 0, 1, 2


class Interrupted(BaseException):
    """A signal arrived before a session could take it (a BaseException, as KeyboardInterrupt,
    so that no `except Exception` swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StopSignals:
    """The process's handlers for the signals that end a session (module doc)."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._target: Callable[[], None] | None = None
        self._previous: dict[int, Any] = {}  # signal -> the handler it had before

    def install(self) -> bool:
        """Take the signals (main thread only; elsewhere nothing to do). True when this call
        installed them (its caller then restores them)."""
        if self._previous or threading.current_thread() is not threading.main_thread():
            return False
        self.received, self._target = None, None
        for sig in SIGNALS:
            self._previous[sig] = signal.signal(sig, self._on_signal)
        return True

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def hand_to(self, stop: Callable[[], None] | None) -> None:
        """From now on a signal calls `stop` (None: raise `Interrupted` again). A signal that
        arrived before is passed on at once."""
        self._target = stop
        if stop is not None and self.received is not None:
            stop()

    def exit_code(self, default: int) -> int:
        """128+N after signal N, else `default`."""
        return default if self.received is None else 128 + self.received

    def _on_signal(self, signum: int, _frame) -> None:
        if self.received is not None:
            log.info("%s ignored: already stopping", signal.Signals(signum).name)
            return
        self.received = signum
        if self._target is None:
            raise Interrupted(signum)
        self._target()


STOP_SIGNALS = StopSignals()  # the process's one set of handlers
