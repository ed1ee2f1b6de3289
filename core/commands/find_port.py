"""`lerecord find-port [--port PATH …]`: the serial ports here and which are servo buses.

Lists USB serial adapters (pyserial's list_ports, plus /dev/ttyUSB*, /dev/ttyACM*,
/dev/tty.usbmodem* … that it may miss) and any `--port` given (an emulator's pseudo-terminal),
then pings each at 1 Mbps and shows the servo ids that answered.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config.help import command_help
from hardware.errors import ConfigError
from hardware.feetech.discovery import find_servo_ports
from hardware.option import option

SUMMARY = "list the serial ports and which of them are servo buses"
USAGE = "lerecord find-port [--port=PATH …]"


@dataclass(kw_only=True)
class FindPortFlags:
    port: str | None = option(
        None, help="also probe this port (an emulator's pseudo-terminal); give it again for more"
    )


def help(argv: list[str]) -> str:
    return command_help(USAGE, SUMMARY, FindPortFlags, epilog=__doc__.split("\n\n", 1)[1])


def main(argv: list[str]) -> int:
    extra = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg.startswith("--port="):
            extra.append(arg.split("=", 1)[1])
        elif arg == "--port" and args:
            extra.append(args.pop(0))
        else:
            raise ConfigError(
                f"find-port: unknown argument {arg!r}; usage: lerecord find-port [--port PATH]"
            )
    ports = find_servo_ports(extra)
    if not ports:
        print(
            "No serial port found. Plug in the arm's USB cable (and its power supply). "
            "To try without an arm: `lerecord emulate so101_follower`, then "
            "`lerecord find-port --port <the path it prints>`."
        )
        return 0
    for port in ports:
        if port.servo_ids:
            status = "servo bus, ids " + " ".join(map(str, port.servo_ids))
        else:
            status = port.problem or "no servo answered"
        print(f"{port.path:<28} {port.description[:30]:<30} {status}")
    return 0
