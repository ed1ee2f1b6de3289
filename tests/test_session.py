"""Recording sessions on the emulated SO-101 arm, leader and camera, driven like a user would."""

from __future__ import annotations

import time
from dataclasses import replace

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest
from dataset_support import check_loadable
from session_support import finish, sim_args, start_session, wait_for

from core import messages as m
from core.config import parse_record_args
from core.session import Session
from hardware.errors import ConfigError
from hardware.feetech.calibration import calibration_path, load
from tui.components.servo_table import bar


def _episodes(root) -> list[int]:
    table = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet")
    return table.column("length").to_pylist()


def test_a_teleop_session_records_every_episode_into_a_loadable_dataset(tmp_path):
    root = tmp_path / "ds"
    session = start_session(root, episodes=2, seconds=1.0)
    seen: list = []
    ended = finish(session, seen)
    assert ended.reason == "completed" and ended.episodes_saved == 2
    info = check_loadable(root)
    assert info["total_episodes"] == 2 and info["robot_type"] == "so_follower"
    assert _episodes(root) == [30, 30]
    kinds = [type(e).__name__ for e in seen if not isinstance(e, m.PhaseChanged)]
    assert kinds[0] == "SessionStarted" and kinds[-1] == "SessionEnded"
    assert kinds.count("EpisodeStarted") == 2 and kinds.count("EpisodeSaved") == 2
    # The follower mirrors the leader: the recorded state stays close to the teleop action.
    data = pq.read_table(root / "data/chunk-000/file-000.parquet").to_pandas()
    state = np.stack(data["observation.state"].to_numpy())
    action = np.stack(data["action"].to_numpy())
    assert np.abs(action - state).mean() < 3.0
    files = [str(p) for p in sorted(root.glob("data/*/*.parquet"))]
    loaded = datasets.load_dataset("parquet", data_files=files, split="train")
    assert loaded.num_rows == 60 and loaded[45]["frame_index"] == 15


def test_exit_early_ends_the_episode_and_keeps_its_frames(tmp_path):
    root = tmp_path / "ds"
    session = start_session(root, episodes=1, seconds=10.0)
    seen: list = []
    wait_for(session, m.EpisodeStarted, seen)
    time.sleep(0.5)
    session.send(m.ExitEarly())
    saved = wait_for(session, m.EpisodeSaved, seen)
    finish(session, seen)
    assert 5 < saved.frames < 100
    check_loadable(root)
    assert _episodes(root) == [saved.frames]


def test_rerecord_discards_the_frames_and_records_the_episode_again(tmp_path):
    root = tmp_path / "ds"
    session = start_session(root, episodes=1, seconds=1.0)
    seen: list = []
    wait_for(session, m.EpisodeStarted, seen)
    time.sleep(0.4)
    session.send(m.Rerecord())
    discarded = wait_for(session, m.EpisodeDiscarded, seen)
    again = wait_for(session, m.EpisodeStarted, seen)
    ended = finish(session, seen)
    assert discarded.reason == "rerecord" and discarded.frames > 0
    assert again.episode_index == 0 and ended.episodes_saved == 1
    assert _episodes(check_loadable(root) and root) == [30]


def test_rerecord_during_the_reset_takes_the_episode_just_saved_out(tmp_path):
    root = tmp_path / "ds"
    session = Session(
        parse_record_args(sim_args(root, "--dataset.reset_time_s=3", episodes=2, seconds=0.5))
    )
    session.start()
    seen: list = []
    wait_for(session, m.EpisodeSaved, seen)
    session.send(m.Rerecord())
    wait_for(session, m.EpisodeDiscarded, seen)
    again = wait_for(session, m.EpisodeStarted, seen)
    ended = finish(session, seen)
    assert again.episode_index == 0, seen
    assert ended.episodes_saved == 2
    assert _episodes(root) == [15, 15] and check_loadable(root)["total_episodes"] == 2


@pytest.mark.parametrize("save_current", [False, True])
def test_stop_keeps_saved_episodes_and_saves_the_current_one_only_if_asked(tmp_path, save_current):
    root = tmp_path / "ds"
    session = start_session(root, episodes=3, seconds=3.0)  # long enough for a loaded machine
    seen: list = []
    wait_for(session, m.EpisodeStarted, seen)
    wait_for(session, m.EpisodeStarted, seen)
    time.sleep(0.3)
    session.send(m.Stop(save_current=save_current))
    ended = finish(session, seen)
    assert ended.reason == "stopped"
    lengths = _episodes(root)
    check_loadable(root)
    if save_current:
        assert len(lengths) == 2 and lengths[0] == 90 and 0 < lengths[1] < 90
    else:
        assert lengths == [90]
        assert any(isinstance(e, m.EpisodeDiscarded) and e.reason == "stop" for e in seen)


def test_pause_holds_the_phase_clock_and_records_nothing(tmp_path):
    root = tmp_path / "ds"
    session = start_session(root, episodes=1, seconds=2.0)
    seen: list = []
    wait_for(session, m.EpisodeStarted, seen)
    time.sleep(0.3)
    session.send(m.Pause())
    time.sleep(0.2)
    frozen = session.snapshot()
    time.sleep(0.5)
    assert session.snapshot().frame_index == frozen.frame_index and frozen.paused
    session.send(m.Resume())
    finish(session, seen)
    assert _episodes(root) == [60]


def test_emergency_stop_ends_the_session_and_discards_the_episode(tmp_path):
    root = tmp_path / "ds"
    session = start_session(root, episodes=2, seconds=5.0)
    seen: list = []
    wait_for(session, m.EpisodeStarted, seen)
    session.send(m.EmergencyStop())
    ended = finish(session, seen)
    assert ended.reason == "emergency_stop" and ended.episodes_saved == 0
    assert any(isinstance(e, m.EpisodeDiscarded) and e.reason == "emergency_stop" for e in seen)


def test_the_snapshot_shows_servos_goals_cameras_and_the_loop_rate(tmp_path):
    session = start_session(tmp_path / "ds", episodes=1, seconds=1.5)
    seen: list = []
    wait_for(session, m.EpisodeStarted, seen)
    time.sleep(1.0)
    t = session.snapshot()
    finish(session, seen)
    assert t.phase == "recording" and t.action_source == "teleop"
    assert [r.name for r in t.servos][0] == "shoulder_pan" and len(t.servos) == 6
    assert all(r.position is not None and r.temperature and r.voltage for r in t.servos)
    assert all(r.goal is not None for r in t.servos)
    assert t.cameras and t.cameras[0].name == "front"
    assert len(t.cameras[0].rgb) == t.cameras[0].width * t.cameras[0].height * 3
    assert 20 < t.timing.achieved_hz < 40 and len(t.timing.lateness_ms) > 10


def test_resume_appends_and_a_mismatch_is_refused_before_anything_is_touched(tmp_path):
    root = tmp_path / "ds"
    finish(start_session(root, episodes=1, seconds=0.5), [])
    session = start_session(root, "--resume=true", episodes=1, seconds=0.5)
    seen: list = []
    started = wait_for(session, m.EpisodeStarted, seen)
    finish(session, seen)
    assert started.episode_index == 1
    assert check_loadable(root)["total_episodes"] == 2
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    with pytest.raises(ConfigError, match="fps is 30 on disk, 15 requested"):
        Session(parse_record_args(sim_args(root, "--resume=true", "--dataset.fps=15"))).start()
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()} == before


def test_a_new_dataset_on_a_taken_folder_is_refused(tmp_path):
    root = tmp_path / "ds"
    finish(start_session(root, episodes=1, seconds=0.3), [])
    with pytest.raises(ConfigError, match="--resume=true"):
        start_session(root, episodes=1, seconds=0.3)


def test_the_servo_table_draws_each_joint_against_its_calibration_file(tmp_path):
    """The telemetry carries each joint's range_min..range_max in its units (degrees here, the
    gripper 0..100), from the calibration file the arm uses; the table's bar spans exactly it."""
    session = start_session(tmp_path / "ds", episodes=1, seconds=1.0)
    seen: list = []
    wait_for(session, m.EpisodeStarted, seen)
    deadline = time.monotonic() + 10
    while not session.snapshot().servos and time.monotonic() < deadline:
        time.sleep(0.02)
    rows = {row.name: row for row in session.snapshot().servos}
    finish(session, seen)
    calibration = load(calibration_path("robots", "so_follower", "test_follower"))
    for name, cal in calibration.items():
        half = (cal.range_max - cal.range_min) * 180 / 4095
        expected = (0.0, 100.0) if name == "gripper" else (-half, half)
        assert rows[name].limits == pytest.approx(expected), name
    elbow = rows["elbow_flex"]
    low, high = elbow.limits
    assert (low, high) != (-100.0, 100.0) and (low, high) != (-180.0, 180.0)
    assert bar(replace(elbow, position=high, goal=None), 12) == "─" * 11 + "█"
    assert bar(replace(elbow, position=low, goal=None), 12) == "█" + "─" * 11
    middle = bar(replace(elbow, position=(low + high) / 2, goal=None), 12)
    assert middle.index("█") == 6
