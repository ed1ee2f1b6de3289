"""The `lerecord` command: picks a subcommand; `lerecord --robot.type=…` alone means `record`.

Each subcommand lives in `core/commands/<name>.py` with `main(argv) -> int`, imported only when
used. Errors a user can fix print one line and exit with status 2.
"""

from __future__ import annotations

import importlib
import logging
import sys

from hardware.errors import ConfigError, DeviceError

SUBCOMMANDS = {
    "record": "core.commands.record",
    "calibrate": "core.commands.calibrate",
    "find-port": "core.commands.find_port",
    "find-cameras": "core.commands.find_cameras",
    "emulate": "core.commands.emulate",
    "push": "core.commands.push",
    "score": "core.commands.score",
    "edit": "core.commands.edit",
}

USAGE = """usage: lerecord [record] [--config profile.toml] [--robot.type=… --dataset.repo_id=… …]
       lerecord calibrate (--robot.type=… | --teleop.type=…) --….port=… --….id=…
       lerecord find-port | find-cameras | emulate <type> | push <repo_id>
       lerecord score <repo_id> [--root PATH]
       lerecord edit <repo_id> [--root PATH] delete --episodes 3,7 | label … | undo

lerecord with no arguments opens the session wizard. See README.md for every flag."""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    name = argv.pop(0) if argv and argv[0] in SUBCOMMANDS else "record"
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        command = importlib.import_module(SUBCOMMANDS[name])
        return command.main(argv)
    except (ConfigError, DeviceError) as error:
        print(f"lerecord: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
