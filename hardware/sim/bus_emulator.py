"""A Feetech bus emulator: STS3215 servos answering the real protocol on a pseudo-terminal.

Any program speaking protocol 0 works against it unchanged (the vendor SDK, lerobot's
FeetechMotorsBus, our FeetechBus): give it `emulator.port` (e.g. `/dev/pts/7`) as the serial port.

Instructions: PING (1, also broadcast: every servo answers, in id order), READ (2), WRITE (3),
REG_WRITE (4) + ACTION (5), SYNC_READ (0x82: each listed servo answers in the order asked),
SYNC_WRITE (0x83). Packets with a bad checksum are ignored, as a servo does. Broadcast WRITE /
REG_WRITE / ACTION apply to every servo without answering. `Response_Status_Level` 0 silences
the answers to writes. Return delays are not emulated.

Faults (from tests, or from `serve`'s control channel through `command()`):
`silent <id>` (no answers), `corrupt <id> [count]` (bad checksums), `overheat <id>`,
`overload <id>` (error bits in its status packets, torque cut), `poweroff` (every servo silent),
`unplug` (the port disappears: the client's next read or write fails), `clear`.

`sync_write_times` (when `keep_write_times` is set) holds the receive time (`clock()`, the
system-wide monotonic clock by default) of every SYNC_WRITE: the arm's side of the wire, from
which a benchmark measures how late each goal position arrived.
"""

from __future__ import annotations

import array
import collections
import logging
import os
import pty
import select
import threading
import time
import tty
from collections.abc import Callable, Iterable

from hardware.feetech.tables import BROADCAST_ID
from hardware.sim.servo import SimServo

log = logging.getLogger(__name__)

PING, READ, WRITE, REG_WRITE, ACTION, SYNC_READ, SYNC_WRITE = 1, 2, 3, 4, 5, 0x82, 0x83


def checksum(body: bytes | bytearray) -> int:
    """~(sum of id .. last parameter) & 0xFF."""
    return ~sum(body) & 0xFF


def packet(servo_id: int, instruction_or_error: int, params: bytes = b"") -> bytes:
    body = bytes([servo_id, len(params) + 2, instruction_or_error]) + params
    return b"\xff\xff" + body + bytes([checksum(body)])


class BusEmulator:
    """Serves `servos` on a new pseudo-terminal once `start()` is called."""

    def __init__(
        self,
        servos: Iterable[SimServo],
        clock: Callable[[], float] = time.monotonic,
        keep_write_times: bool = False,
    ):
        self.servos: dict[int, SimServo] = {s.id: s for s in servos}
        self.clock = clock
        self.keep_write_times = keep_write_times
        self.sync_write_times = array.array("d")  # seconds on `clock`, one per SYNC_WRITE
        self.received: collections.deque[bytes] = collections.deque(maxlen=200)
        self.lock = threading.Lock()  # held while a packet is handled
        self._buffer = bytearray()
        self._master = self._slave = -1
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.port = ""

    # ---- life cycle ----------------------------------------------------------------------

    def start(self) -> str:
        """Open the pseudo-terminal and serve it from a thread; returns the port path."""
        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave)  # no echo, no line discipline: bytes pass untouched
        self.port = os.ttyname(self._slave)
        self._thread = threading.Thread(target=self._serve, name="sts3215-bus", daemon=True)
        self._thread.start()
        log.info("STS3215 bus emulator with ids %s on %s", sorted(self.servos), self.port)
        return self.port

    def stop(self) -> None:
        self._stopping = True
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._close_pty()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> BusEmulator:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _close_pty(self) -> None:
        for fd in (self._master, self._slave):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = -1

    def _serve(self) -> None:
        while not self._stopping:
            ready, _, _ = select.select([self._master, self._wake_r], [], [])
            if self._wake_r in ready or self._master < 0:
                return
            try:
                data = os.read(self._master, 4096)
            except OSError:
                return
            with self.lock:
                self._buffer += data
                replies = self._handle_buffer()
            if replies:
                try:
                    os.write(self._master, replies)
                except OSError:
                    return

    # ---- faults --------------------------------------------------------------------------

    def command(self, line: str) -> str:
        """Apply one control-channel command (see the module doc); returns a one-line answer."""
        words = line.split()
        if not words:
            return ""
        name, args = words[0], [int(w) for w in words[1:] if w.lstrip("-").isdigit()]
        with self.lock:
            if name == "unplug":
                self.unplug()
            elif name == "poweroff":
                for servo in self.servos.values():
                    servo.silent = True
            elif name == "clear":
                for servo in self.servos.values():
                    servo.clear_faults()
            elif name in ("silent", "corrupt", "overheat", "overload") and args:
                servo = self.servos.get(args[0])
                if servo is None:
                    return f"error: no servo id {args[0]}"
                if name == "silent":
                    servo.silent = True
                elif name == "corrupt":
                    servo.corrupt_replies = args[1] if len(args) > 1 else -1
                elif name == "overheat":
                    servo.overheat()
                else:
                    servo.overload()
            else:
                return f"error: unknown command {line.strip()!r}"
        return f"ok {line.strip()}"

    def unplug(self) -> None:
        """The USB cable is pulled: the pseudo-terminal goes away."""
        self._stopping = True
        os.write(self._wake_w, b"x")
        self._close_pty()

    # ---- protocol ------------------------------------------------------------------------

    def _handle_buffer(self) -> bytes:
        out = bytearray()
        buf = self._buffer
        while True:
            start = buf.find(b"\xff\xff")
            if start < 0:
                del buf[: max(0, len(buf) - 1)]
                return bytes(out)
            if start:
                del buf[:start]
            if len(buf) < 4:
                return bytes(out)
            if buf[2] == 0xFF:  # a third 0xFF: the header starts one byte later
                del buf[0]
                continue
            total = buf[3] + 4
            if len(buf) < total:
                return bytes(out)
            raw = bytes(buf[:total])
            del buf[:total]
            if raw[3] < 2 or checksum(raw[2:-1]) != raw[-1]:
                log.debug("ignored packet with bad checksum: %s", raw.hex(" "))
                continue
            self.received.append(raw)
            out += self._handle(raw[2], raw[4], raw[5:-1])

    def _handle(self, target: int, instruction: int, params: bytes) -> bytes:
        now = self.clock()
        for servo in self.servos.values():
            servo.advance(now)
        if instruction == SYNC_READ and target == BROADCAST_ID and len(params) >= 2:
            address, length = params[0], params[1]
            return b"".join(
                self._reply(self.servos.get(i), READ, address, length) for i in params[2:]
            )
        if instruction == SYNC_WRITE and target == BROADCAST_ID and len(params) >= 2:
            if self.keep_write_times:
                self.sync_write_times.append(now)
            address, length = params[0], params[1]
            for k in range(2, len(params) - length, length + 1):
                servo = self.servos.get(params[k])
                if servo is not None and not servo.silent:
                    servo.write(address, params[k + 1 : k + 1 + length])
            return b""
        if target == BROADCAST_ID:
            if instruction == PING:
                return b"".join(self._reply(s, PING) for _, s in sorted(self.servos.items()))
            for servo in self.servos.values():
                if not servo.silent:
                    self._execute(servo, instruction, params)
            return b""
        servo = self.servos.get(target)
        if servo is None or servo.silent:
            return b""
        if instruction == READ and len(params) == 2:
            return self._reply(servo, READ, params[0], params[1])
        if instruction == PING:
            return self._reply(servo, PING)
        if self._execute(servo, instruction, params) and servo.regs[8]:
            return self._reply(servo, instruction)
        return b""

    def _execute(self, servo: SimServo, instruction: int, params: bytes) -> bool:
        if instruction == WRITE and params:
            servo.write(params[0], params[1:])
        elif instruction == REG_WRITE and params:
            servo.pending_write = (params[0], bytes(params[1:]))
        elif instruction == ACTION:
            if servo.pending_write is not None:
                servo.write(*servo.pending_write)
                servo.pending_write = None
        else:
            return False
        return True

    def _reply(self, servo: SimServo | None, instruction: int, address: int = 0, length: int = 0):
        if servo is None or servo.silent:
            return b""
        data = servo.read(address, length) if instruction == READ else b""
        reply = packet(servo.id, servo.error, data)
        if servo.corrupt_replies:
            servo.corrupt_replies -= 1 if servo.corrupt_replies > 0 else 0
            reply = reply[:-1] + bytes([reply[-1] ^ 0x5A])
        return reply
