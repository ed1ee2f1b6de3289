"""LeKiwi over the network: what one control step costs the client, and what the wire costs.

    python -m bench.bench_lekiwi [--seconds 5] [--width 640 --height 480]

The emulated host (`python -m hardware.sim.lekiwi`: the real host loop, arm and wheels on the
Feetech emulator, two simulated cameras) runs in its own process on loopback. The client runs a
30 Hz loop as the session does: `get_observation()` then `send_action()`, each timed; then, in
the same run, lerobot's pattern (poll the socket up to 15 ms and decode inside the step). Also, in
this process: JPEG encode and decode of one camera frame (what the host and the client pay per
camera per observation) and the bytes of one observation.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import zmq

from hardware.base import CameraConfig
from hardware.lekiwi import protocol
from hardware.lekiwi.client import LeKiwiClient, LeKiwiClientConfig
from hardware.sim.arm_view import REST_POSE, ArmView

ROOT = Path(__file__).resolve().parents[1]
FPS = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ms(values: list[float], q: float) -> float:
    return float(np.quantile(values, q)) * 1e3


def wire(width: int, height: int, repeats: int = 100) -> dict[str, float]:
    view = ArmView(width, height, "side+top")
    image = view.draw(REST_POSE, "bench")
    encode, decode = [], []
    frames = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        frames = protocol.encode_observation({"x.vel": 0.0}, {"head": image})
        t1 = time.perf_counter()
        protocol.decode_observation(frames)
        t2 = time.perf_counter()
        encode.append(t1 - t0)
        decode.append(t2 - t1)
    return {
        "encode_ms": statistics.median(encode) * 1e3,
        "decode_ms": statistics.median(decode) * 1e3,
        "jpeg_kb": len(frames[1]) / 1024,
        "raw_kb": image.nbytes / 1024,
    }


def loop_30hz(step, seconds: float) -> list[float]:
    """Call `step()` at 30 Hz on absolute deadlines; its durations in seconds."""
    durations = []
    start = deadline = time.monotonic()
    while time.monotonic() - start < seconds:
        t0 = time.perf_counter()
        step()
        durations.append(time.perf_counter() - t0)
        deadline += 1 / FPS
        time.sleep(max(0.0, deadline - time.monotonic()))
    return durations


def polling_observer(port: int, polling_timeout_ms: int = 15):
    """lerobot's client pattern, for comparison: each step polls the socket (up to 15 ms),
    drains it and decodes the newest observation in the control thread."""
    context = zmq.Context()
    sock = context.socket(zmq.PULL)
    sock.setsockopt(zmq.RCVHWM, 2)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(f"tcp://127.0.0.1:{port}")

    def step() -> None:
        if sock.poll(polling_timeout_ms, zmq.POLLIN):
            newest = None
            while True:
                try:
                    newest = sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
            protocol.decode_observation(newest)

    def close() -> None:
        sock.close()
        context.term()

    return step, close


def client_loop(args: argparse.Namespace) -> dict[str, float]:
    cmd_port, obs_port = free_port(), free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_LEROBOT_CALIBRATION=tempfile.mkdtemp())
    host = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hardware.sim.lekiwi",
            "--port-zmq-cmd",
            str(cmd_port),
            "--port-zmq-observations",
            str(obs_port),
            "--width",
            str(args.width),
            "--height",
            str(args.height),
            "--quit-on-eof",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        host.stdout.readline()  # serving
        cams = {n: CameraConfig(width=args.width, height=args.height) for n in ("head", "wrist")}
        client = LeKiwiClient(
            LeKiwiClientConfig(port_zmq_cmd=cmd_port, port_zmq_observations=obs_port, cameras=cams)
        )
        client.connect()
        send: list[float] = []

        def step() -> None:
            obs = client.get_observation()
            t0 = time.perf_counter()
            client.send_action({k: obs[k] for k in client.action_features})
            send.append(time.perf_counter() - t0)

        received = client.observations_received
        start = time.monotonic()
        ours = loop_30hz(step, args.seconds)
        rate = (client.observations_received - received) / (time.monotonic() - start)
        client.disconnect()
        poll_step, close = polling_observer(obs_port)
        try:
            theirs = loop_30hz(poll_step, args.seconds)
        finally:
            close()
    finally:
        host.stdin.close()
        host.wait(timeout=20)
    return {
        "steps": len(ours),
        "observe_median_ms": ms(ours, 0.5),
        "observe_p99_ms": ms(ours, 0.99),
        "poll_median_ms": ms(theirs, 0.5),
        "poll_p99_ms": ms(theirs, 0.99),
        "send_median_ms": ms(send, 0.5),
        "observations_per_s": rate,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_lekiwi")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    args = parser.parse_args(argv)
    w = wire(args.width, args.height)
    period_ms = 1e3 / FPS
    print(f"one {args.width}x{args.height} camera frame on the wire:")
    print(
        f"  JPEG q{protocol.JPEG_QUALITY} {w['jpeg_kb']:.0f} KiB (raw {w['raw_kb']:.0f} KiB, "
        f"{w['raw_kb'] / w['jpeg_kb']:.0f}x smaller)"
    )
    print(
        f"  encode {w['encode_ms']:.2f} ms (host), decode {w['decode_ms']:.2f} ms (client) "
        f"= {w['decode_ms'] / period_ms:.3f} of a {period_ms:.1f} ms period"
    )
    c = client_loop(args)
    print(f"client at {FPS} Hz against the emulated host (2 cameras), {c['steps']} steps:")
    print(
        f"  get_observation (receiver thread) median {c['observe_median_ms']:.3f} ms, "
        f"p99 {c['observe_p99_ms']:.3f} ms = {c['observe_median_ms'] / period_ms:.4f} of a period"
    )
    print(
        f"  lerobot's poll-in-the-step pattern: median {c['poll_median_ms']:.2f} ms, "
        f"p99 {c['poll_p99_ms']:.2f} ms"
    )
    print(
        f"  ratio poll/ours: median {c['poll_median_ms'] / c['observe_median_ms']:.0f}x, "
        f"p99 {c['poll_p99_ms'] / c['observe_p99_ms']:.0f}x"
    )
    print(f"  send_action median {c['send_median_ms']:.3f} ms")
    print(f"  observations received {c['observations_per_s']:.1f} /s (host loop {FPS} Hz)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
