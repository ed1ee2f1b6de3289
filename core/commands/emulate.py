"""`lerecord emulate <arm type>`: a simulated arm's servo bus for other programs.
`lerecord emulate lekiwi`: a whole LeKiwi host (ZMQ on 127.0.0.1:5555/5556, see
hardware.sim.lekiwi; `python -m hardware.sim.serve lekiwi` still serves just its servo bus).

Prints the port path (a pseudo-terminal) on the first line of stdout and serves until
interrupted. Lines typed on stdin inject faults (`silent 3`, `corrupt 2 5`, `overheat 4`,
`overload 6`, `poweroff`, `unplug`, `clear`).
"""

from __future__ import annotations

from core.config.help import command_help
from hardware.errors import ConfigError
from hardware.sim import serve
from hardware.sim.arms import ARM_TYPES

SUMMARY = "serve a simulated arm's servo bus (or a LeKiwi host) for other programs"
USAGE = "lerecord emulate TYPE"


def help(argv: list[str]) -> str:
    types = f"TYPE: {', '.join(ARM_TYPES)} (lekiwi: a whole LeKiwi host)"
    details = __doc__.split("\n\n", 1)[1]
    return command_help(USAGE, SUMMARY, None, epilog=f"{types}\n\n{details}")


def main(argv: list[str]) -> int:
    if argv and argv[0] == "lekiwi":
        from hardware.sim.lekiwi import main as emulate_lekiwi

        return emulate_lekiwi(argv[1:])
    if len(argv) != 1 or argv[0] not in ARM_TYPES:
        given = " ".join(argv) or "nothing"
        raise ConfigError(f"emulate: got {given}; give one arm type: {', '.join(ARM_TYPES)}")
    return serve.serve(argv[0])
