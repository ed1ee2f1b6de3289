"""Headless keys: a pseudo-terminal as stdin, bytes written as a user's terminal sends them."""

import os
import pty
import queue
import termios

from core.terminal_keys import KeyDecoder, TerminalKeys


def test_decoder_names_letters_arrows_and_escape():
    d = KeyDecoder()
    assert d.feed("nq\x1b[C\x1b[D\x1bOA\r \x7f\x1b[3~") == [
        "n",
        "q",
        "right",
        "left",
        "up",
        "enter",
        "space",
        "backspace",
        "delete",
    ]
    assert d.feed("\x1b") == [] and d.pending  # maybe the start of a sequence
    assert d.feed("[") == []
    assert d.feed("B") == ["down"]
    assert d.feed("\x1b") == []
    assert d.flush() == ["escape"]  # nothing followed: the Escape key


def _keys_from(q: queue.Queue, n: int) -> list[str]:
    return [q.get(timeout=2) for _ in range(n)]


def test_reader_on_a_pty_calls_back_for_each_key_and_restores_the_terminal():
    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        got: queue.Queue = queue.Queue()
        reader = TerminalKeys(slave, got.put)
        assert reader.start()
        lflag = termios.tcgetattr(slave)[3]
        assert not lflag & termios.ICANON and not lflag & termios.ECHO  # cbreak, no echo
        os.write(master, b"w")
        os.write(master, b"\x1b[C")
        os.write(master, b"\x1b[")  # an arrow split across two reads
        assert got.empty() or got.get(timeout=2) == "w"
        os.write(master, b"D")
        os.write(master, b"r\x1b")  # a lone Escape, then nothing
        keys = _keys_from(got, 4)
        assert keys in (["right", "left", "r", "escape"], ["w", "right", "left", "r"])
        if keys[0] == "w":
            assert got.get(timeout=2) == "escape"
        reader.stop()
        assert termios.tcgetattr(slave) == before
        assert not reader.active
        reader.stop()  # idempotent
    finally:
        os.close(master)
        os.close(slave)


def test_reader_does_nothing_when_stdin_is_not_a_terminal():
    r, w = os.pipe()
    try:
        reader = TerminalKeys(r, lambda key: None)
        assert reader.start() is False
        assert not reader.active
        reader.stop()
    finally:
        os.close(r)
        os.close(w)


def test_a_failing_callback_does_not_end_the_reader():
    master, slave = pty.openpty()
    got: queue.Queue = queue.Queue()

    def callback(key):
        if key == "x":
            raise RuntimeError("consumer bug")
        got.put(key)

    try:
        with TerminalKeys(slave, callback):
            os.write(master, b"xn")
            assert got.get(timeout=2) == "n"
    finally:
        os.close(master)
        os.close(slave)
