"""Run one simulated arm's servo bus: `python -m hardware.sim.serve so101_follower`.

Prints the pseudo-terminal's path as the first line of stdout (flushed), then serves until
SIGINT or SIGTERM. Control channel: each line on stdin is a fault command for the emulator
(`silent 3`, `corrupt 2 5`, `overheat 4`, `overload 6`, `poweroff`, `unplug`, `clear`; see
`hardware.sim.bus_emulator`) or `hand on` / `hand off` (a simulated person moves the arm while
its torque is off: how a simulated follower gets calibrated), answered by one line on stdout
(`ok …` or `error: …`). With
`--quit-on-eof` the emulator also stops when stdin closes (its parent went away).
`--write-times FILE` (or the environment's `LERECORD_SIM_WRITE_TIMES=DIR`, which the processes
that `port=sim` starts inherit: `DIR/<arm type>-<pid>.f64`) writes, when it stops, the receive
time of every SYNC_WRITE as native float64 seconds of the system's monotonic clock.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from hardware.sim.arms import ARM_TYPES, make_servos, set_hands
from hardware.sim.bus_emulator import BusEmulator

WRITE_TIMES_DIR = "LERECORD_SIM_WRITE_TIMES"


def serve(arm_type: str, quit_on_eof: bool = False, write_times: str | None = None) -> int:
    servos = make_servos(arm_type)
    emulator = BusEmulator(servos, keep_write_times=write_times is not None)
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
    if write_times is not None:
        with open(write_times, "wb") as out:
            emulator.sync_write_times.tofile(out)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lerecord emulate", description=__doc__.splitlines()[0])
    parser.add_argument("arm_type", choices=ARM_TYPES)
    parser.add_argument("--quit-on-eof", action="store_true", help="stop when stdin closes")
    parser.add_argument("--write-times", metavar="FILE", help="SYNC_WRITE receive times, at stop")
    args = parser.parse_args(argv)
    write_times = args.write_times
    if write_times is None and os.environ.get(WRITE_TIMES_DIR):
        write_times = os.path.join(
            os.environ[WRITE_TIMES_DIR], f"{args.arm_type}-{os.getpid()}.f64"
        )
    return serve(args.arm_type, args.quit_on_eof, write_times)


if __name__ == "__main__":
    sys.exit(main())
