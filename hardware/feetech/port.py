"""The serial port under a Feetech bus: the SDK's PortHandler, opened exclusively, with lerobot's
packet timeout, and one-line explanations of why a port cannot be opened."""

from __future__ import annotations

import errno
import os
import re
import select

import scservo_sdk as scs
import serial

try:
    from termios import error as _TermiosError
except ImportError:  # Windows
    _TermiosError = OSError  # type: ignore[misc,assignment]

PACKET_TIMEOUT_MS = 50.0  # lerobot's patched SDK timeout per status packet
# A pseudo-terminal is an emulator (or a network bridge) sharing the CPU with everything else on
# the machine: its answers get more time, so a busy machine is not mistaken for a broken cable.
EMULATED_TIMEOUT_MS = 250.0
# What a vanished or broken port raises (a pulled USB cable gives EIO, from termios too).
PORT_ERRORS = (serial.SerialException, OSError, _TermiosError)


class ServoPort(scs.PortHandler):
    """The SDK's port, opened exclusively (a second program gets "busy"), with lerobot's status
    packet timeout (`timeout_ms`), waiting for bytes in `select` instead of spinning: the SDK polls
    the port in a loop, and a spinning loop would take the CPU the servos' answer needs when the
    bus is an emulator on the same machine."""

    def __init__(self, port_name: str, timeout_ms: float = PACKET_TIMEOUT_MS):
        super().__init__(port_name)
        self.timeout_ms = timeout_ms

    def setupPort(self, cflag_baud):  # noqa: N802 (SDK name)
        if self.is_open:
            self.closePort()
        self.ser = serial.Serial(
            port=self.port_name,
            baudrate=self.baudrate,
            bytesize=serial.EIGHTBITS,
            timeout=0,
            exclusive=True,
        )
        self.is_open = True
        self.ser.reset_input_buffer()
        self.tx_time_per_byte = (1000.0 / self.baudrate) * 10.0
        return True

    def setPacketTimeout(self, packet_length):  # noqa: N802
        self.packet_start_time = self.getCurrentTime()
        self.packet_timeout = self.tx_time_per_byte * (packet_length + 3) + self.timeout_ms

    def readPort(self, length):  # noqa: N802
        data = self.ser.read(length)
        if not data:
            select.select([self.ser.fileno()], [], [], 0.001)
            data = self.ser.read(length)
        return data


def default_timeout_ms(port: str) -> float:
    path = os.path.realpath(port)
    pseudo = path.startswith("/dev/pts/") or re.fullmatch(r"/dev/ttys\d+", path) is not None
    return EMULATED_TIMEOUT_MS if pseudo else PACKET_TIMEOUT_MS


def port_problem(port: str, error: Exception) -> str:
    text = str(error)
    if getattr(error, "errno", None) == errno.ENOENT or "No such file" in text:
        return (
            f"serial port {port} not found: plug in the arm's USB cable, "
            "or run `lerecord find-port`"
        )
    if "exclusively lock" in text or getattr(error, "errno", None) == errno.EBUSY or "busy" in text:
        return f"serial port {port} is busy: another program is using it; close that program first"
    if getattr(error, "errno", None) == errno.EACCES or "Permission denied" in text:
        return (
            f"no permission to open {port}: add yourself to the dialout group "
            "(`sudo usermod -aG dialout $USER`, then log in again)"
        )
    return f"cannot open serial port {port} ({text}): run `lerecord find-port`"
