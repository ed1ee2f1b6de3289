"""`lerecord calibrate --robot.type=so101_follower --robot.port=/dev/ttyACM0 --robot.id=arm`
(or `--teleop.type=… --teleop.port=… --teleop.id=…`): lerobot's calibration, in the terminal.

If a calibration file exists, ENTER writes it to the servos and `c` calibrates again. Then:
move the arm to the middle of its range and press ENTER; move every joint (except wrist_roll)
through its whole range while a live table shows min / position / max; press ENTER to finish.
The file is written where lerobot keeps it, in its format.
"""

from __future__ import annotations

import os
import select
import sys
from typing import Literal

from core.calibration import open_for_calibration, range_table
from hardware.errors import ConfigError

GROUPS = ("robot", "teleop")
KEYS = ("type", "port", "id")
SAMPLE_PERIOD_S = 0.02  # 50 Hz, as lerobot


def parse(argv: list[str]) -> tuple[str, dict[str, str]]:
    """`--robot.type=x --robot.port y …` → ("robot", {"type": "x", "port": "y", …})."""
    values: dict[str, dict[str, str]] = {}
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, eq, value = arg.partition("=")
        group, _, key = name.removeprefix("--").partition(".")
        if not arg.startswith("--") or group not in GROUPS or key not in KEYS:
            raise ConfigError(
                f"calibrate: unknown argument {arg!r}; use --robot.type/port/id or "
                "--teleop.type/port/id"
            )
        if not eq:
            if not args:
                raise ConfigError(f"calibrate: {name} needs a value")
            value = args.pop(0)
        values.setdefault(group, {})[key] = value
    if len(values) != 1:
        raise ConfigError(
            "calibrate: give either --robot.type=… or --teleop.type=… (with .port and .id)"
        )
    group, fields = next(iter(values.items()))
    if "type" not in fields:
        raise ConfigError(f"calibrate: --{group}.type is missing")
    if "port" not in fields:
        raise ConfigError(f"calibrate: --{group}.port is missing (a serial port, or `sim`)")
    return group, fields


class _Keyboard:
    """Lines from stdin, readable with a timeout (bytes read straight from the descriptor)."""

    def __init__(self, fd: int):
        self.fd, self.buffer, self.closed = fd, b"", False

    def line(self, timeout: float | None = None) -> str | None:
        """The next line, or None if none came within `timeout`; "" at end of input."""
        while b"\n" not in self.buffer and not self.closed:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self.fd, 1024)
            self.buffer += chunk
            self.closed = not chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode(errors="replace").strip()


def main(argv: list[str]) -> int:
    group, fields = parse(argv)
    keys = _Keyboard(sys.stdin.fileno())
    out = sys.stdout
    live = out.isatty()
    kind: Literal["robot", "teleop"] = "robot" if group == "robot" else "teleop"
    device, steps = open_for_calibration(kind, fields["type"], fields["port"], fields.get("id"))
    try:
        if steps.existing is not None:
            print(
                f"Press ENTER to use the calibration file {steps.path}, or type 'c' and press "
                "ENTER to calibrate again: ",
                end="",
                flush=True,
            )
            if (keys.line() or "").lower() != "c":
                steps.use_existing()
                print(f"Calibration from {steps.path} written to the motors.")
                return 0
        steps.start()
        print(
            f"Move {fields['type']} to the middle of its range of motion and press ENTER...",
            flush=True,
        )
        keys.line()
        steps.set_middle()
        print(
            "Move all joints except 'wrist_roll' sequentially through their entire ranges of "
            "motion.\nRecording positions. Press ENTER to stop...",
            flush=True,
        )
        rows = steps.sample()
        shown = 0
        while keys.line(SAMPLE_PERIOD_S) is None:
            rows = steps.sample()
            if live:
                out.write(("\x1b[F" * shown) + "\n".join(range_table(rows)) + "\n")
                out.flush()
                shown = len(rows) + 1
        if not live:
            print("\n".join(range_table(rows)))
        steps.finish()
        print(f"Calibration saved to {steps.path}")
        return 0
    finally:
        device.disconnect()
