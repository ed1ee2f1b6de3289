"""`lerecord [record] …`: parse the flags, then run the session in the console or headless.

With no arguments at all, the console's wizard builds a profile. `--headless`, or a stdout that
is not a terminal, never loads Textual. The signal handlers the CLI installed first stay for a
headless session (see `core.signals`); the console gives them back, its engine child has its own.
"""

from __future__ import annotations

import sys

from core.signals import STOP_SIGNALS
from hardware.errors import ConfigError

SUMMARY = "record a LeRobot dataset by teleoperation or with a policy (the default command)"
USAGE = """lerecord [record] [--config profile.toml] --robot.type=… --dataset.repo_id=… …
       lerecord [record] --help [GROUP …]   (a group: robot, teleop, policy, dataset, display …)
       lerecord [record] --robot.type=TYPE --teleop.type=TYPE --help   (a device's settings)"""
EPILOG = """Tables and lists take JSON or YAML flow style: --robot.cameras='{front: {type: opencv,
index_or_path: 0}}'. Booleans take true/false (a bare --headless is true). With no flags at all,
in a terminal, lerecord opens the session wizard."""


def help(argv: list[str]) -> str:
    from core.config.help import command_help, help_request
    from core.config.tree import RecordConfig

    given, wanted = help_request(argv)
    return command_help(USAGE, SUMMARY, RecordConfig, given, wanted, EPILOG, top="session")


def main(argv: list[str]) -> int:
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if not argv:
        if not interactive:
            raise ConfigError(
                "no session given: pass flags (--robot.type=… --dataset.repo_id=…) or "
                "--config profile.toml, or run lerecord in a terminal for the wizard"
            )
        from tui.app import run_wizard

        STOP_SIGNALS.restore()  # the console's engine child handles the signals itself
        return run_wizard()
    from core.config import parse_record_args

    config = parse_record_args(argv)
    if config.headless or not interactive:
        from core.headless import run_headless

        return run_headless(config)
    from tui.app import run_console

    STOP_SIGNALS.restore()  # the console's engine child handles the signals itself
    return run_console(config)
