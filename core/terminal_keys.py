"""Keys from a terminal, for headless sessions: works over SSH, needs no X server.

`TerminalKeys(fd, callback)` puts a TTY in cbreak mode (no line buffering, no echo, Ctrl-C still
raises SIGINT), reads bytes on a daemon thread and calls `callback(key)` for each key. Key names
are Textual's, so the console app and the terminal name keys alike: a printable character is
itself ("n", "R", "1"), and the rest are "up", "down", "right", "left", "home", "end",
"escape", "enter", "tab", "space", "backspace", "delete".

A terminal gives no key-release events: holding a key repeats its press (after the terminal's
repeat delay), so consumers that need "held" treat a press as held for a short while.
"""

from __future__ import annotations

import codecs
import logging
import os
import select
import termios
import threading
import tty
from collections.abc import Callable

log = logging.getLogger(__name__)

ESCAPE_WAIT_S = 0.05  # a lone ESC: no byte of a sequence follows within this time

_CSI_FINAL = {"A": "up", "B": "down", "C": "right", "D": "left", "H": "home", "F": "end"}
_CSI_TILDE = {
    "1": "home",
    "2": "insert",
    "3": "delete",
    "4": "end",
    "5": "pageup",
    "6": "pagedown",
    "7": "home",
    "8": "end",
}
_CONTROL = {
    "\r": "enter",
    "\n": "enter",
    "\t": "tab",
    " ": "space",
    "\x7f": "backspace",
    "\x08": "backspace",
}


class KeyDecoder:
    """Turns terminal bytes into key names; keeps an incomplete escape sequence between calls."""

    def __init__(self) -> None:
        self._pending = ""

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def feed(self, data: str) -> list[str]:
        text = self._pending + data
        self._pending = ""
        keys: list[str] = []
        i = 0
        while i < len(text):
            ch = text[i]
            if ch != "\x1b":
                keys.append(_CONTROL.get(ch, ch))
                i += 1
                continue
            key, used = _escape_sequence(text[i:])
            if used == 0:  # incomplete: wait for more bytes (or flush() on timeout)
                self._pending = text[i:]
                break
            if key:
                keys.append(key)
            i += used
        return keys

    def flush(self) -> list[str]:
        """No more bytes came: a pending lone ESC is the Escape key."""
        pending, self._pending = self._pending, ""
        if not pending:
            return []
        return ["escape"] + self.feed(pending[1:])


def _escape_sequence(text: str) -> tuple[str | None, int]:
    """(key, bytes used) for text starting with ESC; used == 0 means incomplete."""
    if len(text) == 1:
        return None, 0
    second = text[1]
    if second == "\x1b":
        return "escape", 1
    if second == "O":  # SS3: ESC O A (arrows in application cursor mode)
        if len(text) < 3:
            return None, 0
        return _CSI_FINAL.get(text[2]), 3
    if second != "[":
        return "escape", 1  # ESC then an ordinary key (Alt+key): report Escape, keep the key
    j = 2
    while j < len(text) and (text[j].isdigit() or text[j] == ";"):
        j += 1
    if j == len(text):
        return None, 0
    final, params = text[j], text[2:j]
    if final == "~":
        return _CSI_TILDE.get(params.split(";")[0]), j + 1
    return _CSI_FINAL.get(final), j + 1


class TerminalKeys:
    """Reads keys from a TTY file descriptor on a thread until `stop()`.

    Does nothing (and says so at debug level) when the fd is not a terminal, so a session
    started with stdin from a pipe or from CI just has no keys.
    """

    def __init__(self, fd: int, callback: Callable[[str], None]) -> None:
        self._callback = callback
        self._fd = fd
        self._saved: list | None = None
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None
        self._decoder = KeyDecoder()
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")

    @property
    def active(self) -> bool:
        return self._thread is not None

    def start(self) -> bool:
        """Start reading; False when the fd is not a terminal (no keys, nothing changed)."""
        if self._thread is not None:
            return True
        if not os.isatty(self._fd):
            log.debug("fd %d is not a terminal: no keyboard input", self._fd)
            return False
        self._saved = termios.tcgetattr(self._fd)
        tty.setcbreak(self._fd)
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="terminal-keys", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        """Stop the thread and give the terminal its settings back. Idempotent."""
        if self._thread is None:
            return
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=2)
        self._thread = None
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        if self._saved is not None:
            try:
                termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
            except termios.error:
                log.debug("could not restore the terminal settings (already closed)")
            self._saved = None

    def __enter__(self) -> TerminalKeys:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while True:
            timeout = ESCAPE_WAIT_S if self._decoder.pending else None
            ready, _, _ = select.select([self._fd, self._wake_r], [], [], timeout)
            if self._wake_r in ready:
                return
            if not ready:
                self._emit(self._decoder.flush())
                continue
            try:
                data = os.read(self._fd, 1024)
            except OSError:  # the terminal went away (SSH dropped)
                log.debug("terminal closed: keyboard input ends")
                return
            if not data:
                return
            self._emit(self._decoder.feed(self._utf8.decode(data)))

    def _emit(self, keys: list[str]) -> None:
        for key in keys:
            try:
                self._callback(key)
            except Exception:  # a consumer's bug must not kill the keyboard
                log.exception("key handler failed on %r", key)
