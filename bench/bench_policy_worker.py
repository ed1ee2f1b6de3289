"""What the remote policy's worker thread does to the control thread's wake-ups, apart from the
server: does it hold the GIL when the control thread should run?

A 30 Hz ticker (the control thread's sleep to the next deadline) runs beside the policy worker's
own work for one chunk, in the same process: pickling a 640x480 observation (`payloads.dumps`),
cutting it into messages, reading a 100-action reply of lerobot's server (`load_actions`, the
reply made by torch in the interop Python). Rounds alternate the worker idle, at the session's
pace (one chunk every `--every` s) and back to back, at Python's default switch interval (5 ms)
and at 1 ms. Printed per case: the ticker's wake lateness p50 / p99 / max, and, for each wake-up
later than 1 ms, where the worker was when the ticker got the GIL back (its innermost frame).
Needs LERECORD_LEROBOT_PYTHON. Run: `python -m bench.bench_policy_worker` (~1 min).
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the interop helpers the tests use

import numpy as np  # noqa: E402
from interop import run_lerobot  # noqa: E402

from core.policy.remote import payloads, wire  # noqa: E402

REPLY_SCRIPT = """
import pickle, sys, torch
from lerobot.async_inference.helpers import TimedAction
chunk = torch.randn(100, 6)  # as the server sends it: one storage, each action a view
reply = [TimedAction(timestamp=1.0 + i / 30, timestep=i, action=a) for i, a in enumerate(chunk)]
open(sys.argv[1], "wb").write(pickle.dumps(reply))
"""


def lerobot_reply(folder: Path) -> bytes:
    script, out = folder / "reply.py", folder / "reply.pickle"
    script.write_text(textwrap.dedent(REPLY_SCRIPT))
    made = run_lerobot([str(script), str(out)], timeout=300)
    assert made.returncode == 0, made.stderr[-2000:]
    return out.read_bytes()


def one_chunk(reply: bytes, image: np.ndarray, rng: np.random.Generator) -> None:
    """The worker's CPU work for one chunk (its gRPC calls wait with the GIL released)."""
    raw: dict = {f"j{i}.pos": float(v) for i, v in enumerate(rng.uniform(-50, 50, 6))}
    raw["front"] = image
    raw["task"] = "Pick up the cube"
    data = payloads.dumps(payloads.TimedObservation(time.time(), 0, raw, must_go=True))
    for _ in wire.observation_stream(data):
        pass
    payloads.load_actions(reply)


def worker(reply: bytes, every_s: float, stop: threading.Event) -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    while not stop.is_set():
        one_chunk(reply, image, rng)
        if every_s:
            stop.wait(every_s)


def tick(seconds: float, fps: float, worker_thread: threading.Thread | None) -> tuple:
    """Wake-up lateness (ms) of a ticker sleeping to deadlines, and where the worker was at
    each wake-up later than 1 ms."""
    period, late, where = 1 / fps, [], collections.Counter()
    deadline = time.perf_counter() + period
    end = deadline + seconds
    while deadline < end:
        time.sleep(max(0.0, deadline - time.perf_counter()))
        ms = (time.perf_counter() - deadline) * 1e3
        late.append(ms)
        if ms > 1.0 and worker_thread is not None:
            frame = sys._current_frames().get(worker_thread.ident)
            where[frame.f_code.co_name if frame is not None else "idle"] += 1
        deadline += period
    return np.array(late), where


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6.0, help="per case and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--every", type=float, default=1.7, help="s between chunks (session)")
    parser.add_argument("--fps", type=float, default=30.0)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        reply = lerobot_reply(Path(folder))
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    times = []
    for _ in range(20):
        started = time.perf_counter()
        one_chunk(reply, image, rng)
        times.append((time.perf_counter() - started) * 1e3)
    print(f"one chunk's worker work: median {np.median(times):.2f} ms")
    cases = [(switch, pace) for switch in (0.005, 0.001) for pace in ("idle", "session", "busy")]
    results: dict = {case: ([], collections.Counter()) for case in cases}
    for _ in range(opts.rounds):  # interleaved: the machine's load falls on every case alike
        for switch, pace in cases:
            sys.setswitchinterval(switch)
            stop, thread = threading.Event(), None
            if pace != "idle":
                every = opts.every if pace == "session" else 0.0
                thread = threading.Thread(target=worker, args=(reply, every, stop), daemon=True)
                thread.start()
            late, where = tick(opts.seconds, opts.fps, thread)
            stop.set()
            if thread is not None:
                thread.join(10)
            results[(switch, pace)][0].extend(late)
            results[(switch, pace)][1].update(where)
    sys.setswitchinterval(0.005)
    for (switch, pace), (late, where) in results.items():
        late = np.array(late)
        print(f"switch {switch * 1e3:.0f} ms, worker {pace:>7}: {len(late)} wake-ups, lateness "
              f"p50 {np.percentile(late, 50):.2f} ms, p99 {np.percentile(late, 99):.2f} ms, "
              f"max {late.max():.2f} ms; late > 1 ms with the worker in: "
              f"{dict(where.most_common(4)) or '-'}")  # fmt: skip


if __name__ == "__main__":
    main()
