"""A USB foot pedal read as a Linux input device, as lerobot-rollout's dagger reads it.

lerobot 0.6.1 opens `device_path` with evdev and calls back with the key's name (`"KEY_A"`) on
each key-down event (value 1; repeats, value 2, and releases, value 0, are not presses). This
reads the same device without the evdev package: the kernel's `struct input_event` records
(a timeval, then u16 type, u16 code, s32 value) decoded here, key names from the kernel's
codes. `PedalReader` runs on a daemon thread that wakes every `POLL_S` to see whether it should
stop, so closing never waits on a pedal nobody presses.
"""

from __future__ import annotations

import logging
import os
import select
import struct
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

EVENT = struct.Struct("llHHi")  # struct input_event on this machine (24 bytes on 64-bit Linux)
EV_KEY = 1
KEY_DOWN = 1
POLL_S = 0.1


def _key_codes() -> dict[str, int]:
    """The kernel's KEY_* codes (linux/input-event-codes.h) a pedal may send."""
    codes = {"KEY_ESC": 1, "KEY_TAB": 15, "KEY_ENTER": 28, "KEY_SPACE": 57}
    codes.update({f"KEY_{d}": 2 + i for i, d in enumerate("123456789")})
    codes["KEY_0"] = 11
    for row, first in (("QWERTYUIOP", 16), ("ASDFGHJKL", 30), ("ZXCVBNM", 44)):
        codes.update({f"KEY_{ch}": first + i for i, ch in enumerate(row)})
    codes.update({f"KEY_F{n}": 58 + n for n in range(1, 11)})
    codes.update({"KEY_LEFTCTRL": 29, "KEY_LEFTSHIFT": 42, "KEY_LEFTALT": 56})
    codes.update({f"BTN_{n}": 0x100 + n for n in range(10)})
    return codes


KEY_CODES = _key_codes()
KEY_NAMES = {code: name for name, code in KEY_CODES.items()}


def key_name(code: int) -> str:
    """The kernel's name of a key code (`30` -> `"KEY_A"`); unknown codes as `KEY_<n>`."""
    return KEY_NAMES.get(code, f"KEY_{code}")


class PedalDecoder:
    """Bytes of input events -> names of the keys pressed down; keeps a partial record."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[str]:
        data = self._pending + data
        whole = len(data) - len(data) % EVENT.size
        self._pending = data[whole:]
        pressed = []
        for _sec, _usec, type_, code, value in EVENT.iter_unpack(data[:whole]):
            if type_ == EV_KEY and value == KEY_DOWN:
                pressed.append(key_name(code))
        return pressed


class PedalReader:
    """Calls `on_press(name)` for each pedal key pressed on the input device at `path`."""

    def __init__(self, path: str, on_press: Callable[[str], None]):
        self.path = path
        self.on_press = on_press
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pedal", daemon=True)

    def start(self) -> None:
        """Open the device (OSError, e.g. FileNotFoundError or PermissionError, if it cannot
        be) and read it on the thread."""
        self._fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2 * POLL_S + 1.0)

    def _run(self) -> None:
        decoder = PedalDecoder()
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([self._fd], [], [], POLL_S)
                if not ready:
                    continue
                data = os.read(self._fd, EVENT.size * 64)
                if not data:  # the device went away (unplugged) or the stream ended
                    log.warning("pedal %s: no more events (unplugged?)", self.path)
                    return
                for name in decoder.feed(data):
                    self.on_press(name)
        except OSError as error:
            log.warning("pedal %s: %s", self.path, error)
        finally:
            os.close(self._fd)
