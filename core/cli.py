"""The `lerecord` command: picks a subcommand; `lerecord --robot.type=…` alone means `record`.

Each subcommand lives in `core/commands/<name>.py` with `main(argv) -> int`, `help(argv) -> str`
(its `--help` page, written from the declarations of its flags) and `SUMMARY` (one line), imported
only when used. Errors a user can fix print one line and exit with status 2; a device that fails
exits 1; a signal N, 128+N (the handlers are installed first of all: see `core.signals`).
"""

from __future__ import annotations

import importlib
import logging
import sys
from importlib import metadata

from core.signals import FAILED, REFUSED, STOP_SIGNALS, Interrupted
from hardware.errors import ConfigError, DeviceError

SUBCOMMANDS = {
    "record": "core.commands.record",
    "rollout": "core.commands.rollout",
    "calibrate": "core.commands.calibrate",
    "find-port": "core.commands.find_port",
    "find-cameras": "core.commands.find_cameras",
    "emulate": "core.commands.emulate",
    "push": "core.commands.push",
    "export-policy": "core.commands.export_policy",
    "score": "core.commands.score",
    "edit": "core.commands.edit",
    "review": "core.commands.review",
    "replay": "core.commands.replay",
}


def main(argv: list[str] | None = None) -> int:
    STOP_SIGNALS.install()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--version"]:
        print(f"lerecord {version()}")
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if argv[:1] in (["-h"], ["--help"], ["help"]) and len(argv) == 1:
            print(overview())
            return 0
        name = argv.pop(0) if argv and argv[0] in SUBCOMMANDS else "record"
        command = importlib.import_module(SUBCOMMANDS[name])
        if "--help" in argv or "-h" in argv or argv[:1] == ["help"]:
            print(command.help(argv))
            return 0
        return command.main(argv)
    except ConfigError as error:
        print(f"lerecord: error: {error}", file=sys.stderr)
        return REFUSED
    except DeviceError as error:
        print(f"lerecord: error: {error}", file=sys.stderr)
        return FAILED
    except Interrupted as stop:
        print(f"lerecord: stopped by {stop}", file=sys.stderr)
        return 128 + stop.signum


def version() -> str:
    try:
        return metadata.version("lerecord")
    except metadata.PackageNotFoundError:  # run from a clone that was not installed
        return "unknown (not installed)"


def overview() -> str:
    """`lerecord --help`: every command in a line, then `record`'s flags."""
    lines = ["usage: lerecord [COMMAND] [FLAGS]   (no command: record; no flags: the wizard)", ""]
    lines.append("commands:")
    for name, module in SUBCOMMANDS.items():
        summary = importlib.import_module(module).SUMMARY
        lines.append(f"  {name:<14}{summary}")
    lines += ["", "`lerecord COMMAND --help` shows a command's flags; `lerecord --version`.", ""]
    record = importlib.import_module(SUBCOMMANDS["record"])
    return "\n".join(lines) + "\n" + record.help([])


if __name__ == "__main__":
    sys.exit(main())
