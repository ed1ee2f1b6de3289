"""Bus speed: one full follower observation + one goal write, against the emulator in its own
process (`python -m bench.bench_bus [--steps N]`).

Compares, in one run:
- step: `SoFollower.get_observation()` (one sync read of registers 56..70 of six servos) +
  `send_action()` (one sync write of goals);
- lerobot-style: one sync read per register (position, load, voltage, temperature, current)
  + the goal write, which is what reading the same diagnostics costs without the block read.
Prints median / p99 in ms, the loop rate they allow (from the mean) and the client's CPU time
per step, as a markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

import scservo_sdk as scs

from hardware.feetech.port import ServoPort
from hardware.so_arm.follower import So101FollowerConfig, SoFollower

REGISTERS = (
    "Present_Position",
    "Present_Load",
    "Present_Voltage",
    "Present_Temperature",
    "Present_Current",
)


def _measure(step, steps: int) -> tuple[list[float], float]:
    """Wall time of each step (ms) and the client's CPU time per step (ms)."""
    for _ in range(50):  # warm up
        step()
    times = []
    cpu = time.process_time()
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    return times, (time.process_time() - cpu) * 1000 / steps


def _row(name: str, measured: tuple[list[float], float]) -> str:
    times, cpu_ms = measured
    ordered = sorted(times)
    median = statistics.median(ordered)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    rate = 1000 / statistics.fmean(ordered)
    return f"| {name} | {median:.3f} | {p99:.3f} | {rate:,.0f} | {cpu_ms:.3f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument(
        "--sdk-spin", action="store_true", help="poll the port as the vendor SDK does (spinning)"
    )
    args = parser.parse_args()
    if args.sdk_spin:
        ServoPort.readPort = scs.PortHandler.readPort
    os.environ["HF_LEROBOT_CALIBRATION"] = tempfile.mkdtemp()
    robot = SoFollower(So101FollowerConfig(port="sim", id="bench"))
    robot.connect()
    try:
        action = {k: v for k, v in robot.get_observation().items() if k.endswith(".pos")}
        bus = robot.bus

        def step():
            robot.get_observation()
            robot.send_action(action)

        def lerobot_style():
            for register in REGISTERS:
                bus.sync_read(register, normalize=register == "Present_Position")
            bus.sync_write("Goal_Position", {k[:-4]: v for k, v in action.items()})

        def positions_only():
            bus.sync_read("Present_Position")
            bus.sync_write("Goal_Position", {k[:-4]: v for k, v in action.items()})

        rows = [
            _row("observation (1 block sync read) + goal write", _measure(step, args.steps)),
            _row(
                "5 sync reads (one per register) + goal write", _measure(lerobot_style, args.steps)
            ),
            _row(
                "positions only (lerobot's step) + goal write", _measure(positions_only, args.steps)
            ),
        ]
    finally:
        robot.disconnect()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.system()}; {args.steps} steps each; "
        f"port polled {'by spinning (vendor SDK)' if args.sdk_spin else 'in select (FeetechBus)'}"
    )
    print("| 6 × STS3215, emulator in its own process | median ms | p99 ms | loop Hz | CPU ms |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
