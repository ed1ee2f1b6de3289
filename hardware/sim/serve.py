"""Run one simulated arm's servo bus: `python -m hardware.sim.serve so101_follower`.

Prints the pseudo-terminal's path as the first line of stdout (flushed), then serves until
SIGINT or SIGTERM. Control channel: each line on stdin is a fault command for the emulator
(`silent 3`, `corrupt 2 5`, `overheat 4`, `overload 6`, `poweroff`, `unplug`, `clear`; see
`hardware.sim.bus_emulator`) or `hand on` / `hand off` (a simulated person moves the arm while
its torque is off: how a simulated follower gets calibrated), answered by one line on stdout
(`ok …` or `error: …`). With
`--quit-on-eof` the emulator also stops when stdin closes (its parent went away).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from hardware.sim.arms import ARM_TYPES, make_servos, set_hands
from hardware.sim.bus_emulator import BusEmulator


def serve(arm_type: str, quit_on_eof: bool = False) -> int:
    servos = make_servos(arm_type)
    emulator = BusEmulator(servos)
    print(emulator.start(), flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    def control() -> None:
        for line in sys.stdin:
            if line.split()[:1] == ["hand"]:
                on = line.split()[1:] == ["on"]
                with emulator.lock:
                    set_hands(servos, arm_type, on)
                print(f"ok hand {'on' if on else 'off'}", flush=True)
            elif line.strip():
                print(emulator.command(line), flush=True)
        if quit_on_eof:
            stop.set()

    threading.Thread(target=control, name="emulator-control", daemon=True).start()
    while not stop.wait(0.2):
        pass
    emulator.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lerecord emulate", description=__doc__.splitlines()[0])
    parser.add_argument("arm_type", choices=ARM_TYPES)
    parser.add_argument("--quit-on-eof", action="store_true", help="stop when stdin closes")
    args = parser.parse_args(argv)
    return serve(args.arm_type, args.quit_on_eof)


if __name__ == "__main__":
    sys.exit(main())
