"""`lerecord [record] …`: parse the flags, then run the session in the console or headless.

With no arguments at all, the console's wizard builds a profile. `--headless`, or a stdout that
is not a terminal, never loads Textual. The signal handlers the CLI installed first stay for a
headless session (see `core.signals`); the console gives them back, its engine child has its own.
"""

from __future__ import annotations

import sys

from core.signals import STOP_SIGNALS
from hardware.errors import ConfigError


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
