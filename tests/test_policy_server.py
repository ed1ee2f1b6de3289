"""lerecord as the client of lerobot 0.6.1's real policy server (in the interop Python).

The server serves the fixture ACT checkpoint on 127.0.0.1; lerecord records on the emulated arm.
A small Diffusion checkpoint made by lerobot offline is one lerobot 0.6.1's server cannot run.
A recording proxy between them keeps every reply the server sent, so the dataset's actions can be
replayed against lerobot's own client logic (its aggregate function and queue update, run in the
interop Python), frame by frame.
"""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pandas as pd
import pytest
from dataset_support import FIXTURES, check_loadable, read_data
from interop import run_lerobot
from policy_server_support import LerobotServer, RecordingProxy
from session_support import ROOT, finish, sim_args, wait_for

from core import messages as m
from core.config import parse_record_args
from core.headless import run_headless
from core.policy.remote import wire
from core.session import Session
from core.voice import announcement
from hardware.errors import ConfigError

POLICY = FIXTURES / "act_policy"
COMPAT = ROOT / "tests" / "lerobot_compat"
WARMUP_REPLIES = 2  # SessionPolicy.load warms the policy up with two observations


@pytest.fixture
def server(tmp_path):
    running = LerobotServer(tmp_path).start()
    yield running
    running.kill()


def _args(root, address, *extra, episodes=1, seconds=4.0, policy=POLICY):
    args = [a for a in sim_args(root, episodes=episodes, seconds=seconds) if "--teleop" not in a]
    return [*args, f"--policy.path={policy}", f"--policy.server={address}",
            "--dataset.fps=10", "--log=true", *extra]  # fmt: skip


def _policy_log(base) -> pd.DataFrame:
    (folder,) = list((base / "inference_logs" / "session_test").iterdir())
    return pd.read_csv(folder / "so101_follower_policy_inference.csv")


def _lerobot_loads(root) -> dict:
    out = run_lerobot([str(COMPAT / "load_dataset.py"), str(root), "local/session_test"])
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _diffusion(folder):
    """A small Diffusion checkpoint made by lerobot offline (random weights, no pretrained
    backbone), in the fixture's layout: state, one 48x64 camera `front`, 6 actions."""
    made = run_lerobot([str(COMPAT / "make_policy.py"), "diffusion", str(folder)])
    assert made.returncode == 0, made.stderr[-3000:]
    assert json.loads((folder / "config.json").read_text())["type"] == "diffusion"
    assert (folder / "model.safetensors").is_file()
    return folder


def test_recorded_actions_are_the_servers_chunks_aggregated_as_lerobots_client_does(
    tmp_path, monkeypatch, server
):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "ds"
    with RecordingProxy(server.address) as proxy:
        config = parse_record_args(_args(root, proxy.address))
        assert run_headless(config, out=io.StringIO()) == 0
    assert _lerobot_loads(root)["episodes"] == 1
    info = check_loadable(root)
    log = _policy_log(tmp_path)
    assert len(log) == info["total_frames"] == 40
    assert log["policy_reachable"].all()
    received = int(log["chunks_received"].max())
    assert received >= 2  # the first chunk, and at least one that overlapped it

    # Which reply the session took in at which frame: the frames where chunks_received grew.
    frames = [int(log["frame_index"][log["chunks_received"] >= n].iloc[0])
              for n in range(1, received + 1)]  # fmt: skip
    replies = proxy.replies[WARMUP_REPLIES : WARMUP_REPLIES + received]
    chunks = []
    for i, (frame, reply) in enumerate(zip(frames, replies, strict=True)):
        path = tmp_path / f"reply_{i}.pickle"
        path.write_bytes(wire.decode_data(reply))
        chunks.append({"frame": frame, "reply": str(path)})
    spec = tmp_path / "replay.json"
    spec.write_text(json.dumps(
        {"aggregate": "weighted_average", "frames": len(log), "chunks": chunks}
    ))  # fmt: skip
    out = run_lerobot([str(COMPAT / "aggregate_chunks.py"), str(spec)], cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    expected = json.loads(out.stdout.strip().splitlines()[-1])

    recorded = np.stack(read_data(root)["action"].to_numpy())
    played = log["origin"] == "queue"
    assert played.sum() >= 20
    for frame in range(len(log)):
        if played[frame]:
            np.testing.assert_allclose(recorded[frame], expected[frame], rtol=1e-6, atol=1e-5)
        else:  # held: lerobot's queue was dry at that frame too
            assert expected[frame] is None, frame
    assert (log["dropped_actions"] >= 0).all()


def test_a_diffusion_lerobots_server_fails_on_is_one_line_before_any_motor_moves(
    tmp_path, monkeypatch, server
):
    """lerobot 0.6.1's server calls `DiffusionPolicy.predict_action_chunk` with empty queues;
    that path adds the time axis to the images only, so `generate_actions` finds the state's
    6 values where the observation steps should be and fails its `n_obs_steps` assertion (the
    server logs "Error in StreamActions" and answers an empty Actions). lerecord stops there."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "ds"
    config = parse_record_args(_args(root, server.address, policy=_diffusion(tmp_path / "dp")))
    with pytest.raises(ConfigError) as refused:
        run_headless(config, out=io.StringIO())
    line = str(refused.value)
    assert "\n" not in line and f"policy server {server.address}" in line
    assert "answered without actions" in line and "see its log" in line
    assert "Policy type: diffusion" in server.output()
    assert "Error in StreamActions" in server.output()
    assert not root.exists()


def test_server_killed_mid_episode_then_restarted_the_arm_holds_and_the_session_goes_on(
    tmp_path, monkeypatch, server
):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "ds"
    config = parse_record_args(_args(root, server.address, episodes=2, seconds=600))
    session = Session(config)
    session.start()
    seen: list = []
    try:
        wait_for(session, m.EpisodeStarted, seen, timeout=60)
        time.sleep(1.5)
        server.kill()
        lost = wait_for(session, m.DeviceFault, seen, timeout=30)
        assert lost.device == "policy server" and not lost.recovered
        assert announcement(lost) == "Policy server lost"
        # the actions already queued are played out, then the arm holds (each step counted)
        _wait(lambda: session.snapshot().policy.starvations > 0, timeout=30)
        telemetry = session.snapshot()
        assert telemetry.policy is not None and telemetry.policy.link_error
        assert telemetry.policy.where.startswith(f"policy server {server.address}")
        assert any("policy server" in w for w in telemetry.warnings)

        server.start()  # same port: the session reconnects and sets the policy up again
        back = wait_for(session, m.DeviceFault, seen, timeout=240)
        assert back.recovered
        _wait(lambda: session.snapshot().policy.chunks >= 1 and
              session.snapshot().policy.link_error is None)  # fmt: skip
        session.send(m.Rerecord())  # the operator redoes the episode that had the outage
        wait_for(session, m.EpisodeStarted, seen, timeout=30)
        for _ in range(2):
            time.sleep(1.5)
            session.send(m.ExitEarly())
            wait_for(session, m.EpisodeSaved, seen, timeout=60)
    except BaseException:
        session.send(m.Stop())  # a failed check ends the session instead of waiting on it
        raise
    finally:
        ended = finish(session, seen, timeout=120)
    assert ended.reason == "completed", ended
    assert ended.episodes_saved == 2
    assert any(isinstance(e, m.EpisodeDiscarded) and e.reason == "rerecord" for e in seen)
    assert _lerobot_loads(root)["episodes"] == 2
    log = _policy_log(tmp_path)
    outage = log[log["policy_reachable"] == False]  # noqa: E712
    origins = list(outage["origin"])
    played = origins.index("hold")  # what the last chunk still held was played, then the arm held
    assert played <= 20 and len(origins) - played > 5
    assert set(origins[played:]) <= {"hold", "wait"}
    assert (log["policy_reachable"].iloc[-5:]).all()


def _wait(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
