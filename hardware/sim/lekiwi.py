"""An emulated LeKiwi host on loopback: `lerecord emulate lekiwi`, `python -m hardware.sim.lekiwi`.

The real host code (`hardware.lekiwi.host`) runs unchanged on emulated hardware: the arm and the
three wheel servos on the Feetech bus emulator (the base's wheels turn in velocity mode), and
simulated cameras rendering the arm. A `lekiwi_client` — ours or lerobot's — connects to it on
127.0.0.1 at the usual ports (5555 commands, 5556 observations).

Cameras default to `head` and `wrist`, the names the LeKiwi example in the docs uses.
Prints one line, `LeKiwi host emulated on 127.0.0.1:<cmd>/<obs>`, once it serves, then serves
until interrupted (or until stdin closes with `--quit-on-eof`).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from hardware.lekiwi.host import LeKiwi, LeKiwiConfig, LeKiwiHost, LeKiwiHostConfig, run_host
from hardware.registry import config_class

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
CAMERA_VIEWS = {"head": "top", "wrist": "side"}


def emulated_lekiwi(
    cameras: list[str],
    width: int = 640,
    height: int = 480,
    fps: int = 30,
    calibration_id: str = "sim_lekiwi",
) -> LeKiwi:
    sim_camera = config_class("camera", "sim")
    configs = {
        name: sim_camera(width=width, height=height, fps=fps, view=CAMERA_VIEWS.get(name, "side"))
        for name in cameras
    }
    return LeKiwi(LeKiwiConfig(port="sim", id=calibration_id, cameras=configs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lerecord emulate lekiwi", description="An emulated LeKiwi host on loopback."
    )
    parser.add_argument("--port-zmq-cmd", type=int, default=5555)
    parser.add_argument("--port-zmq-observations", type=int, default=5556)
    parser.add_argument(
        "--cameras", default="head,wrist", help="comma-separated camera names ('' for none)"
    )
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--fps", type=int, default=30, help="host loop and camera rate")
    parser.add_argument("--watchdog-timeout-ms", type=int, default=500)
    parser.add_argument("--quit-on-eof", action="store_true", help="stop when stdin closes")
    args = parser.parse_args(argv)
    cameras = [c for c in args.cameras.split(",") if c]
    robot = emulated_lekiwi(cameras, args.width, args.height, args.fps)
    host_config = LeKiwiHostConfig(
        bind_ip=LOOPBACK,
        port_zmq_cmd=args.port_zmq_cmd,
        port_zmq_observations=args.port_zmq_observations,
        watchdog_timeout_ms=args.watchdog_timeout_ms,
        max_loop_freq_hz=args.fps,
    )
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    if args.quit_on_eof:

        def wait_eof() -> None:
            sys.stdin.read()
            stop.set()

        threading.Thread(target=wait_eof, name="emulator-eof", daemon=True).start()

    def ready(host: LeKiwiHost) -> None:
        print(
            f"LeKiwi host emulated on {LOOPBACK}:{args.port_zmq_cmd}/{args.port_zmq_observations}",
            flush=True,
        )

    return run_host(robot, host_config, stop, ready)


if __name__ == "__main__":
    sys.exit(main())
