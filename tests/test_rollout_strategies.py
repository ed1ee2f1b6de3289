"""`lerecord rollout`'s strategies on the emulated arm, with the fixture ACT checkpoint: what
each records, read back by lerobot 0.6.1 itself (tests/interop.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from interop import run_lerobot
from session_support import finish, wait_for

from core import messages as m
from core.config.rollout import parse_rollout_args
from core.dataset import default_root
from core.ring_buffer import RingBuffer
from core.session import Session
from hardware.errors import ConfigError

COMPAT = Path(__file__).with_name("lerobot_compat")
COMMON = [
    "--policy.path=tests/data/lerobot-0.6.1/act_policy",
    "--robot.type=so100_follower",
    "--robot.port=sim",
    "--robot.id=rollout_follower",
    "--robot.cameras={front: {type: sim, width: 64, height: 48, fps: 30}}",
    "--play_sounds=false",
    "--return_to_initial_position=false",
]


def start(*args: str) -> Session:
    session = Session(parse_rollout_args([*COMMON, *args]).session_config())
    session.start()
    return session


def dataset_args(root: Path, name: str) -> list[str]:
    return [
        f"--dataset.repo_id=user/rollout_{name}",
        f"--dataset.root={root}",
        "--dataset.single_task=Grab the cube",
        "--dataset.push_to_hub=false",
        "--dataset.vcodec=h264",
    ]


def lerobot_values(root: Path, name: str, key: str) -> dict:
    out = run_lerobot([str(COMPAT / "episode_values.py"), str(root), f"user/rollout_{name}", key])
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def phase(session: Session, seen: list, name: str) -> None:
    while wait_for(session, m.PhaseChanged, seen).phase != name:
        pass


def test_base_runs_the_policy_for_the_duration_and_records_nothing():
    seen: list = []
    session = start("--strategy.type=base", "--task=pick up cube", "--duration=1")
    ended = finish(session, seen)
    assert ended.reason == "completed" and ended.episodes_saved == 0
    assert session.last_step().source == "policy"
    assert not any(isinstance(e, m.EpisodeStarted) for e in seen)
    assert not list(default_root("local/rollout_base").parent.glob("rollout_base*"))
    assert session.parts.recorder is None


def test_sentry_cuts_episodes_by_duration_and_lerobot_loads_them(tmp_path):
    root = tmp_path / "sentry"
    seen: list = []
    session = start(
        "--strategy.type=sentry", *dataset_args(root, "sentry"),
        "--dataset.episode_time_s=0.5", "--duration=1.6",
    )  # fmt: skip
    ended = finish(session, seen)
    assert ended.reason == "completed" and ended.episodes_saved == 4
    data = lerobot_values(root, "sentry", "frame_index")
    assert [len(e) for e in data["episodes"]] == [15, 15, 15, 3]
    assert "intervention" not in data["features"]


def test_episodic_records_with_the_policy_as_record_did(tmp_path):
    root = tmp_path / "episodic"
    seen: list = []
    session = start(
        "--strategy.type=episodic", *dataset_args(root, "episodic"),
        "--dataset.num_episodes=2", "--dataset.episode_time_s=0.5", "--dataset.reset_time_s=0.2",
    )  # fmt: skip
    ended = finish(session, seen)
    assert ended.episodes_saved == 2
    # the outcome prompt is on in episodic: the last episode gets a reset too, that waits for
    # its outcome at most the reset time, then the episode stays unmarked
    assert [e.phase for e in seen if isinstance(e, m.PhaseChanged)] == [
        "recording", "reset", "recording", "reset",
    ]  # fmt: skip
    assert [e.episode_index for e in seen if isinstance(e, m.OutcomeAsked)] == [0, 1]
    data = lerobot_values(root, "episodic", "frame_index")
    assert [len(e) for e in data["episodes"]] == [15, 15]


def test_dagger_records_the_human_correction_with_intervention(tmp_path):
    root = tmp_path / "dagger"
    seen: list = []
    session = start(
        "--strategy.type=dagger", "--strategy.num_episodes=2",
        "--strategy.record_autonomous=true", "--teleop.type=keyboard",
        *dataset_args(root, "dagger"), "--duration=60",
    )  # fmt: skip
    phase(session, seen, "running")
    session.send(m.StrategyKey("correction"))  # the human takes over: the arm slides first
    phase(session, seen, "handover")
    phase(session, seen, "correction")
    time.sleep(0.3)
    session.send(m.StrategyKey("correction"))  # and hands back
    ended = finish(session, seen)
    assert ended.episodes_saved == 2
    data = lerobot_values(root, "dagger", "intervention")
    assert data["features"]["intervention"] == {"dtype": "bool", "shape": [1]}
    policy, human = data["episodes"]
    assert policy and not any(policy)
    assert human and all(human)


def test_highlight_saves_the_buffered_seconds_then_records_live(tmp_path):
    root = tmp_path / "highlight"
    seen: list = []
    session = start(
        "--strategy.type=highlight", "--strategy.ring_buffer_seconds=0.5",
        *dataset_args(root, "highlight"), "--duration=60",
    )  # fmt: skip
    phase(session, seen, "buffering")
    time.sleep(1.0)  # more than the buffer holds
    session.send(m.StrategyKey("save"))
    phase(session, seen, "recording")
    time.sleep(0.3)
    session.send(m.StrategyKey("save"))
    saved = wait_for(session, m.EpisodeSaved, seen)
    session.send(m.Stop(save_current=False))
    ended = finish(session, seen)
    assert ended.episodes_saved == 1
    live = saved.frames - 15
    assert live >= 1  # 15 buffered frames (0.5 s at 30 fps), then the live ones
    data = lerobot_values(root, "highlight", "frame_index")
    assert data["episodes"] == [list(range(saved.frames))]


def test_ring_buffer_keeps_the_last_seconds_within_its_memory():
    buffer = RingBuffer(seconds=1.0, fps=4, max_memory_mb=1)
    image = np.zeros((100, 100, 3), np.uint8)  # 30 kB a frame
    for i in range(10):
        buffer.append(np.full(6, i, np.float32), np.zeros(6, np.float32), {"front": image})
    assert [int(f.state[0]) for f in buffer.drain()] == [6, 7, 8, 9]
    assert len(buffer) == 0
    small = RingBuffer(seconds=100.0, fps=30, max_memory_mb=0.1)  # about 3 frames of 30 kB
    for i in range(10):
        small.append(np.full(6, i, np.float32), np.zeros(6, np.float32), {"front": image})
    assert [int(f.state[0]) for f in small.drain()] == [7, 8, 9]


def test_checkpoint_overrides_reach_the_policy():
    seen: list = []
    session = start("--strategy.type=base", "--duration=0.2", "--policy.n_action_steps=5")
    assert session.parts.policy.policy.n_action_steps == 5
    assert finish(session, seen).reason == "completed"


def test_an_override_the_checkpoint_cannot_take_is_refused_before_any_motor():
    cfg = parse_rollout_args([*COMMON, "--policy.n_action_steps=30"]).session_config()
    session = Session(cfg)
    refused = "--policy: n_action_steps \\(30\\) must be between 1 and chunk_size"
    with pytest.raises(ConfigError, match=refused):
        session.start()
    assert session.parts is None


def test_the_arm_returns_to_its_start_pose_at_the_end():
    seen: list = []
    session = start("--strategy.type=base", "--duration=0.5", "--return_to_initial_position=true")
    finish(session, seen)
    assert [e.phase for e in seen if isinstance(e, m.PhaseChanged)] == ["running", "returning"]
    last, initial = session.last_step(), session._loop.actions.initial
    assert last.phase == "returning"
    assert max(abs(last.action[k] - v) for k, v in initial.items()) < 1e-3


def test_interpolated_steps_are_recorded_at_the_rate_the_arm_is_driven(tmp_path):
    import pyarrow.parquet as pq

    root = tmp_path / "interp"
    seen: list = []
    session = start(
        "--strategy.type=sentry", *dataset_args(root, "interp"), "--fps=15",
        "--interpolation_multiplier=2", "--dataset.episode_time_s=1", "--duration=1",
    )  # fmt: skip
    assert finish(session, seen).episodes_saved == 1
    info = json.loads((root / "meta/info.json").read_text())
    assert info["fps"] == 30 and info["total_frames"] == 30  # timestamps are frame_index / 30
    table = pq.read_table(next((root / "data").rglob("*.parquet")))
    actions = np.array(table.column("action").to_pylist())
    # each policy action comes every 2nd step; the step before it is halfway from the last one
    for i in range(2, len(actions) - 1, 2):
        assert np.allclose(actions[i], (actions[i - 1] + actions[i + 1]) / 2, atol=1e-3)
    data = lerobot_values(root, "interp", "frame_index")
    assert data["episodes"] == [list(range(30))]


def test_rename_map_names_a_camera_as_the_policy_was_trained():
    args = [a for a in COMMON if not a.startswith("--robot.cameras")] + [
        "--robot.cameras={top: {type: sim, width: 64, height: 48, fps: 30}}",
        "--strategy.type=base",
        "--duration=0.2",
    ]
    with pytest.raises(ConfigError, match="front"):
        Session(parse_rollout_args(args).session_config()).start()
    renamed = '--rename_map={"observation.images.top": "observation.images.front"}'
    session = Session(parse_rollout_args([*args, renamed]).session_config())
    session.start()
    seen: list = []
    assert finish(session, seen).reason == "completed"
    assert session.last_step().source == "policy"
