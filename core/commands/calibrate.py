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
from dataclasses import dataclass

from core.calibration import open_for_calibration, range_table
from core.config.help import command_help, help_request
from core.config.parse import parse_flags
from hardware.base import RobotConfig, TeleoperatorConfig
from hardware.errors import ConfigError
from hardware.option import option
from hardware.registry import known_types

SAMPLE_PERIOD_S = 0.02  # 50 Hz, as lerobot
SUMMARY = "calibrate an SO arm (follower or leader) and write lerobot's calibration file"
USAGE = """lerecord calibrate --robot.type=TYPE --robot.port=PORT --robot.id=NAME
       lerecord calibrate --teleop.type=TYPE --teleop.port=PORT --teleop.id=NAME"""


@dataclass(kw_only=True)
class CalibrateFlags:
    """What `lerecord calibrate` takes: one arm, with the settings it has in a session."""

    robot: RobotConfig | None = option(
        None, help="the follower arm to calibrate", choices=lambda: known_types("robot")
    )
    teleop: TeleoperatorConfig | None = option(
        None, help="or the leader arm to calibrate", choices=lambda: known_types("teleop")
    )

    def __post_init__(self) -> None:
        if (self.robot is None) == (self.teleop is None):
            raise ConfigError(
                "calibrate: give either --robot.type=… or --teleop.type=… (with .port and .id)"
            )


def parse(argv: list[str]) -> RobotConfig | TeleoperatorConfig:
    """`--robot.type=x --robot.port y …` → the arm's config."""
    flags = parse_flags(CalibrateFlags, argv, profiles=False)
    return flags.robot or flags.teleop


def help(argv: list[str]) -> str:
    given, wanted = help_request(argv)
    return command_help(USAGE, SUMMARY, CalibrateFlags, given, wanted, __doc__.split("\n\n")[1])


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
    config = parse(argv)
    keys = _Keyboard(sys.stdin.fileno())
    out = sys.stdout
    live = out.isatty()
    device, steps = open_for_calibration(config)
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
            f"Move {config.type} to the middle of its range of motion and press ENTER...",
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
