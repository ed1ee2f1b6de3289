"""lerecord as the client of lerobot's real policy server, against the same session without a
policy: does the control loop keep its deadlines, and what does the network add?

The server (`python -m lerobot.async_inference.policy_server`, in the interop Python, on
127.0.0.1) serves a default-size ACT made by lerobot with random weights (51.6 M parameters,
one 640x480 camera). Each session runs on the emulated SO-101 with one simulated 640x480 camera
at `--fps` for `--duration` seconds: first without a policy (the emulated leader drives), then
with `--policy.server`, then lerobot's own robot client on the same server, driving an emulated
SO-101 (`lerecord emulate`) with a 640x480 video file as camera. Printed: missed deadlines, step
lateness p50/p99 and their ratio, holds, each client's round trip per chunk against the server's
own forward for it (from its log, matched by timestep), and a per-stage breakdown of a few
exchanges (our pickling and decoding, gRPC, the server's forward and its pickling of the reply).
The per-stage probe alternates lerecord's order (GetActions placed on the server before the
observation is sent) with lerobot's client's (GetActions after SendObservations), printed apart.
The server runs at `--server-nice` (default 10: it stands in for another computer), and at
SCHED_IDLE with `--server-idle`; `--one-core` puts lerecord on one core and the emulators and
the server on the other(s). For a short trial: `--duration 20 --exchanges 13` (~2 min).
Needs LERECORD_LEROBOT_PYTHON (`make interop`). Run: `python -m bench.bench_remote_policy`.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the interop helpers the tests use

import numpy as np  # noqa: E402
from interop import run_lerobot  # noqa: E402
from policy_server_support import LerobotServer  # noqa: E402

from bench.pin import move_children, pin_to_one_core  # noqa: E402
from core import messages as m  # noqa: E402
from core.config import parse_record_args  # noqa: E402
from core.policy.remote import payloads, wire  # noqa: E402
from core.policy.remote.server import PolicyServer  # noqa: E402
from core.session import Session  # noqa: E402
from hardware.feetech import calibration  # noqa: E402
from hardware.sim.arms import SO_JOINTS, make_servos  # noqa: E402

log = logging.getLogger("bench.remote_policy")


class MeasuredSession(Session):
    """A session that keeps every step's lateness and policy record."""

    def __init__(self, config):
        super().__init__(config)
        self.steps: list = []

    def step_done(self, step) -> None:
        super().step_done(step)
        if step.phase == "recording":
            self.steps.append(step)


def session_args(root: Path, fps: int, seconds: float, *extra: str) -> list[str]:
    return [
        "--robot.type=so101_follower", "--robot.port=sim", "--robot.id=bench_follower",
        '--robot.cameras={"front": {"type": "sim", "width": 640, "height": 480, "fps": 30}}',
        "--dataset.repo_id=local/bench_remote", f"--dataset.root={root}",
        "--dataset.single_task=Pick up the cube", "--dataset.num_episodes=1",
        f"--dataset.episode_time_s={seconds}", "--dataset.reset_time_s=0",
        f"--dataset.fps={fps}", "--dataset.vcodec=h264", "--dataset.push_to_hub=false",
        "--play_sounds=false", *extra,
    ]  # fmt: skip


def run(args: list[str], other_cores: set[int] | None = None) -> MeasuredSession:
    session = MeasuredSession(parse_record_args(args))
    session.start()
    if other_cores:  # the emulated arm is the far side of the wire
        move_children(other_cores)
    assert session.wait(600), "session did not end"
    session.close()
    ended = [e for e in session.events() if isinstance(e, m.SessionEnded)]
    assert ended and ended[0].reason == "completed", ended
    return session


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(name: str, session: MeasuredSession, period_s: float) -> list[float]:
    lateness = [s.lateness_s * 1e3 for s in session.steps]
    missed = sum(1 for s in session.steps if s.lateness_s > period_s)
    share = 100 * missed / len(lateness)
    p50, p99 = pct(lateness, 0.5), pct(lateness, 0.99)
    print(f"{name:>14}: {len(lateness)} steps, missed {missed} ({share:.2f} %), "
          f"lateness p50 {p50:.2f} ms, p99 {p99:.2f} ms")  # fmt: skip
    return lateness


def server_times(log_text: str) -> tuple[dict[int, float], dict[int, float]]:
    """The server's own times by observation timestep (the last of each): its forward
    (prepare, preprocess, inference, postprocess) and its forward plus pickling the reply."""
    forward = {int(t): float(ms) for t, ms in FORWARD.findall(log_text)}
    answered = {int(t): float(ms) for t, ms in ANSWERED.findall(log_text)}
    return forward, answered


FORWARD = re.compile(r"Observation (\d+) \| Total time: ([\d.]+)ms")
ANSWERED = re.compile(r"Action chunk #(\d+) generated \| Total time: ([\d.]+)ms")
STAGE_STEP0 = 100_000  # the stage probe's timesteps, apart from any session's


def stage_probe(
    server: LerobotServer, checkpoint: Path, exchanges: int, actions_per_chunk: int | None
) -> list[dict]:
    """`exchanges` observations traded one by one, each stage timed here: pickling the
    observation, cutting it into messages, SendObservations, the wait for the reply, reading it.
    Exchanges alternate lerecord's order (GetActions placed on the server first, `early`) with
    lerobot's client's (GetActions after SendObservations returns), so the two compare under the
    same load."""
    names = [f"{j}.pos" for j in ("shoulder_pan", "shoulder_lift", "elbow_flex",
                                  "wrist_flex", "wrist_roll", "gripper")]  # fmt: skip
    features = {
        "observation.state": {"dtype": "float32", "shape": (6,), "names": names},
        "observation.images.front": {"dtype": "image", "shape": (480, 640, 3),
                                     "names": ["height", "width", "channels"]},
    }  # fmt: skip
    chunk = actions_per_chunk or json.loads((checkpoint / "config.json").read_text())["chunk_size"]
    setup = payloads.RemotePolicyConfig("act", str(checkpoint), features, chunk, "cpu")
    link = PolicyServer(server.address, setup)
    link.connect()
    rng = np.random.default_rng(0)
    rows = []
    try:
        for i in range(exchanges):
            early = i % 2 == 1  # the first (a warm-up, dropped) in lerobot's order
            raw: dict = dict(zip(names, map(float, rng.uniform(-50, 50, 6)), strict=True))
            raw["front"] = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
            raw["task"] = "Pick up the cube"
            times = [time.perf_counter()]
            sent = payloads.TimedObservation(time.time(), STAGE_STEP0 + i, raw, must_go=True)
            data = payloads.dumps(sent)
            times.append(time.perf_counter())
            messages = list(wire.observation_stream(data))
            times.append(time.perf_counter())
            waiting = link._actions.future(wire.EMPTY, timeout=60) if early else None
            link._observations(iter(messages), timeout=60)
            times.append(time.perf_counter())
            answer = waiting.result() if early else link._actions(wire.EMPTY, timeout=60)
            reply = wire.decode_data(answer)
            times.append(time.perf_counter())
            payloads.load_actions(reply)
            times.append(time.perf_counter())
            ms = [(b - a) * 1e3 for a, b in zip(times, times[1:], strict=False)]
            rows.append({"step": STAGE_STEP0 + i, "early": early, "encode": ms[0],
                         "messages": ms[1], "send": ms[2], "get": ms[3], "decode": ms[4],
                         "trip": (times[-1] - times[0]) * 1e3, "bytes": len(data),
                         "reply_bytes": len(reply)})  # fmt: skip
    finally:
        link.close()
    return rows


def print_stages(rows: list[dict], log_text: str) -> None:
    forward, answered = server_times(log_text)
    rows = [r for r in rows[1:] if r["step"] in forward]  # the first warms the server up
    if not rows:
        print("stage probe: the server logged none of the probe's observations")
        return
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0] if k not in ("step", "early")}
    fwd = statistics.median(forward[r["step"]] for r in rows)
    pickling = statistics.median(answered[r["step"]] - forward[r["step"]] for r in rows)
    print(
        f"stages, median of {len(rows)} exchanges ({med['bytes'] / 1e3:.0f} kB up, "
        f"{med['reply_bytes'] / 1e3:.0f} kB down); the server's forward {fwd:.1f} ms, its "
        f"pickling of the reply {pickling:.1f} ms"
    )
    print(
        f"  lerecord: pickle observation {med['encode']:.2f} ms, cut into messages "
        f"{med['messages']:.2f} ms, read the reply {med['decode']:.2f} ms"
    )
    orders = ((True, "GetActions placed first (lerecord)"),
              (False, "GetActions after SendObservations (lerobot's order)"))  # fmt: skip
    for early, order in orders:
        kept = [r for r in rows if r["early"] is early]
        if not kept:
            continue
        send = statistics.median(r["send"] for r in kept)
        get = statistics.median(r["get"] for r in kept)
        rest = statistics.median(r["send"] + r["get"] - answered[r["step"]] for r in kept)
        over = statistics.median(r["trip"] - forward[r["step"]] for r in kept)
        served = statistics.median(r["trip"] - answered[r["step"]] for r in kept)
        print(
            f"  {order}, {len(kept)} exchanges: SendObservations {send:.2f} ms, then the reply "
            f"{get:.1f} ms; gRPC, the server's unpickling and queue {rest:.1f} ms; overhead over "
            f"the forward {over:.1f} ms, over the forward + its reply pickling {served:.1f} ms"
        )


def session_overhead(session: MeasuredSession, log_text: str) -> None:
    forward, answered = server_times(log_text)
    arrived = [s.policy for s in session.steps if s.policy and s.policy.forward_ms]
    pairs = [(p.forward_ms, forward[p.chunk_step], answered.get(p.chunk_step))
             for p in arrived if p.chunk_step in forward]  # fmt: skip
    last = session.steps[-1].policy
    print(f"chunks {last.chunks if last else 0}, held steps {last.starvations if last else 0}")
    if not pairs:
        print("no chunk of the session matched the server's log")
        return
    trip = statistics.median(t for t, _, _ in pairs)
    own = statistics.median(f for _, f, _ in pairs)
    over = statistics.median(t - f for t, f, _ in pairs)
    pickling = statistics.median(a - f for _, f, a in pairs if a is not None)
    print(
        f"round trip median {trip:.1f} ms; server's forward median {own:.1f} ms; overhead "
        f"median {over:.1f} ms (the server's reply pickling {pickling:.1f} ms of it)"
    )


def lerobot_client(
    server: LerobotServer,
    checkpoint: Path,
    work: Path,
    fps: int,
    seconds: float,
    other_cores: set[int] | None,
) -> dict:
    """lerobot's own robot client on the emulated SO-101 (`lerecord emulate`, its calibration
    written where lerobot looks for it) and a 640x480 video file as its camera, same server."""
    calibration_dir = work / "lerobot_calibration"
    calibration.save({f"{joint.name}": calibration.MotorCalibration(
        joint.id, 0, servo.homing_offset, joint.range_min, joint.range_max)
        for joint, servo in zip(SO_JOINTS, make_servos("so101_follower"), strict=True)},
        calibration_dir / "bench_follower.json")  # fmt: skip
    video = work / "front.mp4"
    write_video(video, fps)
    emulator = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "emulate", "so101_follower"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        port = emulator.stdout.readline().strip()
        if other_cores:
            move_children(other_cores)
        chunk = json.loads((checkpoint / "config.json").read_text())["chunk_size"]
        spec = work / "robot_client.json"
        spec.write_text(json.dumps({
            "server": server.address, "port": port, "calibration_dir": str(calibration_dir),
            "robot_id": "bench_follower", "video": str(video), "checkpoint": str(checkpoint),
            "actions_per_chunk": chunk, "fps": fps, "seconds": seconds,
        }))  # fmt: skip
        out = run_lerobot([str(ROOT / "tests/lerobot_compat/robot_client_run.py"), str(spec)],
                          timeout=seconds + 600, cwd=work, input="\n")  # fmt: skip
    finally:
        emulator.kill()
        emulator.wait(10)
    if out.returncode != 0:
        print(f"lerobot's robot client failed ({out.returncode}): {out.stderr[-1500:]}")
        return {}
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_video(path: Path, fps: int) -> None:
    """Two seconds of 640x480 moving picture (the client's camera loops it)."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("h264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        for i in range(2 * fps):
            image = np.zeros((480, 640, 3), np.uint8)
            image[:, (i * 10) % 640 :][:, :40] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def report_lerobot_client(result: dict, period_s: float, log_text: str) -> None:
    """Its loop has no deadlines (it sleeps what is left of a period after each turn): a turn's
    lateness here is how much longer than a period it took."""
    turns = result["turns"]
    late = [max(0.0, (b - a - period_s) * 1e3) for a, b in zip(turns, turns[1:], strict=False)]
    missed = sum(1 for ms in late if ms > period_s * 1e3)
    print(f"lerobot client: {len(turns)} turns, missed {missed} "
          f"({100 * missed / max(len(late), 1):.2f} %), lateness p50 {pct(late, 0.5):.2f} ms, "
          f"p99 {pct(late, 0.99):.2f} ms; {len(result['sent_at'])} actions sent, held turns "
          f"{result['held']}, chunks {result['chunks']}")  # fmt: skip
    forward, _ = server_times(log_text)
    pairs = [(ms, forward[step]) for step, ms in result["trips_ms"] if step in forward]
    if pairs:
        trip = statistics.median(t for t, _ in pairs)
        own = statistics.median(f for _, f in pairs)
        over = statistics.median(t - f for t, f in pairs)
        print(f"lerobot client round trip median {trip:.1f} ms; server's forward median "
              f"{own:.1f} ms; overhead median {over:.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--exchanges", type=int, default=12, help="for the per-stage timings")
    parser.add_argument(
        "--probe-actions-per-chunk", type=int, default=None,
        help="the per-stage probe's actions_per_chunk (default: the checkpoint's chunk_size)",
    )  # fmt: skip
    parser.add_argument(
        "--server-nice", type=int, default=10,
        help="the server's nice value: it stands in for another computer, so it yields the "
        "cores to the robot computer's own work",
    )  # fmt: skip
    parser.add_argument(
        "--server-idle", action="store_true",
        help="run the server at SCHED_IDLE (on Linux): it gets only the cores lerecord leaves",
    )  # fmt: skip
    parser.add_argument(
        "--one-core", action="store_true",
        help="lerecord on one core; the emulators and the server on the other(s)",
    )  # fmt: skip
    opts = parser.parse_args()
    other_cores = pin_to_one_core()[1] if opts.one_core else None
    logging.basicConfig(level=logging.WARNING)
    print(
        f"{'1 core' if opts.one_core else 'all cores'}; server at nice {opts.server_nice}"
        f"{' and SCHED_IDLE' if opts.server_idle else ''}; "
        f"{opts.duration:.0f} s per session at {opts.fps} Hz"
    )
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        checkpoint = work / "act_default"
        made = run_lerobot([str(ROOT / "tests/lerobot_compat/make_policy.py"), "act",
                            str(checkpoint), "--height", "480", "--width", "640",
                            "--default-size"], timeout=600)  # fmt: skip
        assert made.returncode == 0, made.stderr[-2000:]
        print(f"ACT parameters: {int(made.stdout.split()[-1]) / 1e6:.1f} M (random weights)")
        period = 1 / opts.fps
        plain = run(session_args(work / "plain", opts.fps, opts.duration,
                                 "--teleop.type=so101_leader", "--teleop.port=sim",
                                 "--teleop.id=bench_leader"), other_cores)  # fmt: skip
        server = LerobotServer(work, nice=opts.server_nice, idle=opts.server_idle).start()
        try:
            if other_cores:
                move_children(other_cores)
            stages = stage_probe(server, checkpoint, opts.exchanges,
                                 opts.probe_actions_per_chunk)  # fmt: skip
            started = time.monotonic()
            remote = run(session_args(work / "remote", opts.fps, opts.duration,
                                      f"--policy.path={checkpoint}",
                                      f"--policy.server={server.address}"),
                         other_cores)  # fmt: skip
            print(f"session with the server: {time.monotonic() - started:.0f} s incl. set-up")
            theirs_from = len(FORWARD.findall(server.output()))
            theirs = lerobot_client(server, checkpoint, work, opts.fps, opts.duration,
                                    other_cores)  # fmt: skip
        finally:
            server.kill()
        log_text = server.output()
    base = report("no policy", plain, period)
    with_server = report("policy server", remote, period)
    print(f"lateness p99 ratio (server / none): {pct(with_server, 0.99) / pct(base, 0.99):.2f}")
    session_overhead(remote, log_text)
    print_stages(stages, log_text)
    if theirs:
        theirs_log = "\n".join(f"Observation {t} | Total time: {ms}ms"
                               for t, ms in FORWARD.findall(log_text)[theirs_from:])  # fmt: skip
        report_lerobot_client(theirs, period, theirs_log)


if __name__ == "__main__":
    main()
