"""Sessions driven by lerobot's fixture ACT checkpoint on the emulated arm, with `--log=true`:
the dataset, the three inference-log CSVs and the console block agree with each other."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from dataset_support import FIXTURES, check_loadable
from session_support import finish, sim_args

from core import messages as m
from core.config import parse_record_args
from core.headless import run_headless
from core.session import Session
from hardware.errors import ConfigError

POLICY = FIXTURES / "act_policy"
MOTORS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]


@pytest.fixture
def policy_path():
    return str(POLICY)


def _policy_args(root, policy_path, *extra, teleop=False):
    args = [a for a in sim_args(root, episodes=2, seconds=1.0) if teleop or "--teleop" not in a]
    return [*args, f"--policy.path={policy_path}", "--dataset.reset_time_s=0.2", *extra]


def _log_folder(base):
    (folder,) = list((base / "inference_logs" / "session_test").iterdir())
    return folder


def test_a_policy_session_records_the_policy_actions_and_logs_every_step(
    tmp_path, monkeypatch, policy_path
):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "ds"
    out = io.StringIO()
    config = parse_record_args(_policy_args(root, policy_path, "--log=true", teleop=True))
    assert run_headless(config, out=out) == 0
    info = check_loadable(root)
    assert info["total_episodes"] == 2

    folder = _log_folder(tmp_path)
    state = pd.read_csv(folder / "so101_follower_robot_state.csv")
    policy = pd.read_csv(folder / "so101_follower_policy_inference.csv")
    trajectory = pd.read_csv(folder / "so101_follower_trajectory.csv")
    # Columns in the order FORMATS.md gives.
    assert list(state.columns[:9]) == [
        "timestamp",
        "wall_time",
        "step",
        "episode_index",
        "frame_index",
        "phase",
        "robot_connected",
        "control_loop_hz",
        "loop_period_ms",
    ]
    assert list(state.columns[9:14]) == [
        "shoulder_pan.pos",
        "shoulder_pan.load",
        "shoulder_pan.temperature",
        "shoulder_pan.voltage",
        "shoulder_pan.current",
    ]
    assert list(policy.columns[:8]) == [
        "timestamp",
        "step",
        "episode_index",
        "frame_index",
        "inference_time_ms",
        "forward_time_ms",
        "step_wait_ms",
        "queue_size",
    ]
    assert list(policy.columns[-11:]) == [
        "output_mean",
        "output_std",
        "output_min",
        "output_max",
        "task",
        "origin",
        "chunk_step",
        "chunks_received",
        "dropped_actions",
        "held_steps",
        "policy_reachable",
    ]
    # One row per step; policy rows only for recording steps (the teleop drives the reset).
    assert state["step"].tolist() == list(range(len(state)))
    recording = state[state["phase"] == "recording"]
    assert len(recording) == info["total_frames"] == len(policy)
    assert set(trajectory["source"]) == {"policy", "teleop"}
    assert (state["phase"] == "reset").any()

    # The values agree with the dataset: positions observed, actions sent.
    data = pq.read_table(root / "data/chunk-000/file-000.parquet").to_pandas()
    observed = np.stack(data["observation.state"].to_numpy())
    acted = np.stack(data["action"].to_numpy())
    logged_pos = recording[[f"{n}.pos" for n in MOTORS]].to_numpy()
    logged_action = policy[[f"action.{n}.pos" for n in MOTORS]].to_numpy()
    np.testing.assert_allclose(logged_pos, observed, atol=1e-3)
    held = np.isnan(logged_action).any(axis=1)  # steps where no action was due yet
    assert held.mean() < 0.1
    np.testing.assert_allclose(logged_action[~held], acted[~held], atol=1e-3)
    assert policy["forward_time_ms"].notna().sum() >= 1
    assert (recording["shoulder_pan.temperature"] > 15).all()
    assert (
        (recording["shoulder_pan.voltage"] > 5) & (recording["shoulder_pan.voltage"] < 15)
    ).all()

    # The users' analysis runs on the files as written.
    print(f"Average inference time: {policy['inference_time_ms'].mean():.1f}ms")
    # inference_time_ms is the forward time of the chunk each action came from: a real figure
    # on every row, each one a forward the log shows where it happened (or the chunk primed
    # before the episode's first frame)
    forwards = set(policy["forward_time_ms"].dropna().round(6))
    primed = set(policy.groupby("episode_index")["inference_time_ms"].first().round(6))
    assert policy["inference_time_ms"].notna().all() and policy["inference_time_ms"].min() > 1.0
    assert set(policy["inference_time_ms"].round(6)) <= forwards | primed
    assert np.isfinite(state["timestamp"]).all() and state["timestamp"].is_monotonic_increasing

    # The console printed step blocks with the policy output.
    text = out.getvalue()
    assert "📊 INFERENCE STEP" in text and "🎯 POLICY OUTPUT:" in text
    assert "📋 TASK: Pick up the cube" in text


def test_a_policy_alone_drives_the_arm_and_holds_it_in_the_reset(tmp_path, policy_path):
    root = tmp_path / "ds"
    session = Session(parse_record_args(_policy_args(root, policy_path)))
    session.start()
    seen: list = []
    ended = finish(session, seen)
    assert ended.reason == "completed" and ended.episodes_saved == 2
    data = pq.read_table(root / "data/chunk-000/file-000.parquet").to_pandas()
    acted = np.stack(data["action"].to_numpy())
    assert np.isfinite(acted).all() and acted.std(axis=0).max() > 0


def test_a_policy_whose_camera_is_missing_is_refused_before_the_arm_connects(tmp_path, policy_path):
    args = [a for a in sim_args(tmp_path / "ds") if not a.startswith("--robot.cameras")]
    args.append(f"--policy.path={policy_path}")
    with pytest.raises(ConfigError, match="front"):
        Session(parse_record_args(args)).start()
    assert not (tmp_path / "ds").exists()


def test_the_policy_panel_shows_where_the_action_came_from(tmp_path, policy_path):
    session = Session(parse_record_args(_policy_args(tmp_path / "ds", policy_path)))
    session.start()
    seen: list = []
    from session_support import wait_for

    wait_for(session, m.EpisodeStarted, seen)
    import time

    time.sleep(0.6)
    t = session.snapshot()
    finish(session, seen)
    assert t.action_source == "policy" and t.policy is not None
    assert t.policy.inference_ms >= 0 and t.policy.queue_size >= 0
