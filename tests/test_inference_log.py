"""`--log=true`: the three CSV files of FORMATS.md, one row per control step, written off-loop,
readable by pandas as they are written, and faults that stop the logs but never the session."""

from __future__ import annotations

import io
import os
import threading
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from core.logs import InferenceLog
from core.step import ControlStep, OutputStats, PolicyStep

MOTORS = ["shoulder_pan", "shoulder_lift", "gripper"]
STATE = [f"{m}.pos" for m in MOTORS]
T0 = datetime(2025, 7, 28, 14, 30, 52).timestamp()


def make_step(
    i: int,
    *,
    policy: bool = True,
    phase: str = "recording",
    event: str = "",
    episode: int = 0,
    task: str = "Put the plastic part in the cup",
) -> ControlStep:
    obs = {}
    for k, m in enumerate(MOTORS):
        obs[f"{m}.pos"] = 10.0 * k + i * 0.5
        obs[f"{m}.load"] = -3.0 + k
        obs[f"{m}.temperature"] = 35.0 + k
        obs[f"{m}.voltage"] = 12.1
        obs[f"{m}.current"] = 120.0 + 10 * k
    action = {f"{m}.pos": obs[f"{m}.pos"] + 1.25 for m in MOTORS}
    p = None
    if policy:
        p = PolicyStep(
            inference_ms=0.2 + i % 10,
            forward_ms=80.0 if i % 10 == 0 else None,
            chunk_forward_ms=14.3 + i,
            queue_size=99 - i % 100,
            inputs={n: obs[n] for n in STATE},
            output=OutputStats(mean=0.1, std=1.5, min=-2.0, max=3.0),
        )
    return ControlStep(
        step=i,
        t=i / 30,
        wall_time=T0 + i / 30,
        episode_index=episode,
        frame_index=i,
        phase=phase,
        period_s=1 / 30,
        lateness_s=0.0001,
        observation=obs,
        action=action,
        source="policy" if policy else "teleop",
        policy=p,
        event=event,
        task=task,
    )


def open_log(tmp_path: Path, **kw) -> InferenceLog:
    kw.setdefault("clock", lambda: T0)
    return InferenceLog.open(
        tmp_path / "inference_logs",
        repo_id="username/pick_place",
        robot_type="so100_follower",
        motors=MOTORS,
        state_names=STATE,
        action_names=STATE,
        **kw,
    )


def test_three_files_with_the_columns_of_formats_md_in_order(tmp_path):
    log = open_log(tmp_path)
    log.close()
    folder = tmp_path / "inference_logs/pick_place/20250728_143052"
    assert log.folder == folder
    assert sorted(p.name for p in folder.iterdir()) == [
        "so100_follower_policy_inference.csv",
        "so100_follower_robot_state.csv",
        "so100_follower_trajectory.csv",
    ]
    state = pd.read_csv(folder / "so100_follower_robot_state.csv")
    assert list(state.columns) == [
        "timestamp",
        "wall_time",
        "step",
        "episode_index",
        "frame_index",
        "phase",
        "robot_connected",
        "control_loop_hz",
        "loop_period_ms",
        "shoulder_pan.pos",
        "shoulder_pan.load",
        "shoulder_pan.temperature",
        "shoulder_pan.voltage",
        "shoulder_pan.current",
        "shoulder_lift.pos",
        "shoulder_lift.load",
        "shoulder_lift.temperature",
        "shoulder_lift.voltage",
        "shoulder_lift.current",
        "gripper.pos",
        "gripper.load",
        "gripper.temperature",
        "gripper.voltage",
        "gripper.current",
    ]
    policy = pd.read_csv(folder / "so100_follower_policy_inference.csv")
    assert list(policy.columns) == [
        "timestamp",
        "step",
        "episode_index",
        "frame_index",
        "inference_time_ms",
        "forward_time_ms",
        "step_wait_ms",
        "queue_size",
        "obs.shoulder_pan.pos",
        "obs.shoulder_lift.pos",
        "obs.gripper.pos",
        "action.shoulder_pan.pos",
        "action.shoulder_lift.pos",
        "action.gripper.pos",
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
    trajectory = pd.read_csv(folder / "so100_follower_trajectory.csv")
    assert list(trajectory.columns) == [
        "timestamp",
        "step",
        "episode_index",
        "frame_index",
        "source",
        "shoulder_pan.current",
        "shoulder_pan.target",
        "shoulder_pan.error",
        "shoulder_lift.current",
        "shoulder_lift.target",
        "shoulder_lift.error",
        "gripper.current",
        "gripper.target",
        "gripper.error",
        "event",
        "task",
    ]
    assert len(state) == len(policy) == len(trajectory) == 0


def test_one_row_per_step_with_the_steps_values(tmp_path):
    log = open_log(tmp_path)
    steps = [make_step(i, event="episode_start" if i == 0 else "") for i in range(40)]
    steps += [make_step(40 + i, policy=False, phase="reset") for i in range(5)]  # teleop reset
    for s in steps:
        log.record(s)
    log.close()
    state = pd.read_csv(log.path("robot_state"))
    policy = pd.read_csv(log.path("policy_inference"))
    trajectory = pd.read_csv(log.path("trajectory"))
    assert list(state["step"]) == list(range(45)) and list(trajectory["step"]) == list(range(45))
    assert list(policy["step"]) == list(range(40))  # policy rows only where the policy acted
    s7 = steps[7]
    row = state.iloc[7]
    assert row["timestamp"] == pytest.approx(s7.t, abs=1e-6)
    assert datetime.fromisoformat(row["wall_time"]).timestamp() == pytest.approx(
        s7.wall_time, abs=1e-3
    )
    assert row["phase"] == "recording" and state.iloc[44]["phase"] == "reset"
    assert bool(row["robot_connected"]) is True
    assert row["control_loop_hz"] == pytest.approx(30.0) and row["loop_period_ms"] == pytest.approx(
        33.333333
    )
    for m in MOTORS:
        for d in ("pos", "load", "temperature", "voltage", "current"):
            assert row[f"{m}.{d}"] == pytest.approx(s7.observation[f"{m}.{d}"])
    p = policy.iloc[7]
    assert p["inference_time_ms"] == pytest.approx(21.3) and p["queue_size"] == 92
    assert p["step_wait_ms"] == pytest.approx(7.2)
    assert pd.isna(p["forward_time_ms"]) and policy.iloc[10]["forward_time_ms"] == 80.0
    assert p["obs.gripper.pos"] == pytest.approx(s7.observation["gripper.pos"])
    assert p["action.gripper.pos"] == pytest.approx(s7.action["gripper.pos"])
    assert (p["output_mean"], p["output_std"], p["output_min"], p["output_max"]) == (
        0.1,
        1.5,
        -2.0,
        3.0,
    )
    assert p["task"] == "Put the plastic part in the cup"
    t = trajectory.iloc[7]
    assert t["source"] == "policy" and trajectory.iloc[44]["source"] == "teleop"
    assert t["gripper.current"] == pytest.approx(s7.observation["gripper.pos"])
    assert t["gripper.target"] == pytest.approx(s7.action["gripper.pos"])
    assert t["gripper.error"] == pytest.approx(1.25)
    assert trajectory.iloc[0]["event"] == "episode_start" and pd.isna(t["event"])


def test_the_users_pandas_analysis_runs_unchanged(tmp_path):
    log = open_log(tmp_path)
    for i in range(30):
        log.record(make_step(i))
    log.close()
    robot_state = pd.read_csv(log.path("robot_state"))
    policy_data = pd.read_csv(log.path("policy_inference"))
    text = f"Average inference time: {policy_data['inference_time_ms'].mean():.1f}ms"
    assert text == "Average inference time: 28.8ms"
    assert f"{1000 / policy_data['inference_time_ms'].mean():.1f}" == "34.7"
    import matplotlib.pyplot as plt

    plt.switch_backend("Agg")
    lines = plt.plot(robot_state["timestamp"], robot_state["shoulder_pan.pos"])
    assert len(lines[0].get_xdata()) == 30
    plt.close("all")


def test_hold_steps_and_lost_robot_leave_empty_cells(tmp_path):
    log = open_log(tmp_path)
    base = make_step(0, policy=False)
    hold = ControlStep(
        step=0,
        t=0.0,
        wall_time=T0,
        episode_index=0,
        frame_index=0,
        phase="recording",
        period_s=0.0,
        lateness_s=0.0,
        observation={"gripper.pos": 3.0},
        action=None,
        source="hold",
        robot_connected=False,
        task='A "quoted", task\nwith a newline',
    )
    log.record(hold)
    log.record(base)
    log.close()
    state = pd.read_csv(log.path("robot_state"))
    assert not bool(state.iloc[0]["robot_connected"]) and pd.isna(state.iloc[0]["control_loop_hz"])
    assert pd.isna(state.iloc[0]["gripper.load"]) and state.iloc[0]["gripper.pos"] == 3.0
    trajectory = pd.read_csv(log.path("trajectory"))
    assert pd.isna(trajectory.iloc[0]["gripper.target"]) and pd.isna(
        trajectory.iloc[0]["gripper.error"]
    )
    assert trajectory.iloc[0]["task"] == 'A "quoted", task\nwith a newline'
    assert len(trajectory) == 2


def test_same_second_folder_is_not_overwritten(tmp_path):
    first = open_log(tmp_path)
    first.record(make_step(0))
    first.close()
    second = open_log(tmp_path)
    second.close()
    third = open_log(tmp_path)
    third.close()
    assert first.folder.name == "20250728_143052"
    assert second.folder.name == "20250728_143052_1" and third.folder.name == "20250728_143052_2"
    assert len(pd.read_csv(first.path("robot_state"))) == 1


def test_unwritable_folder_gives_one_warning_and_no_exception(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the log folder should go")
    warnings: list[str] = []
    log = InferenceLog.open(
        blocker / "inference_logs",
        repo_id="u/d",
        robot_type="so100_follower",
        motors=MOTORS,
        clock=lambda: T0,
        on_warning=warnings.append,
    )
    for i in range(5):
        log.record(make_step(i))
    log.flush(wait=True)
    log.close()
    assert (
        len(warnings) == 1
        and "inference logs off" in warnings[0]
        and "Not a directory" in warnings[0]
    )
    assert not log.active


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_full_disk_stops_logging_with_one_warning(tmp_path):
    warnings: list[str] = []
    log = open_log(tmp_path, on_warning=warnings.append)
    log.record(make_step(0))
    assert log.flush(wait=True)
    full = os.open("/dev/full", os.O_WRONLY)  # every write to it fails with ENOSPC
    os.dup2(full, log._fds["trajectory"])
    os.close(full)
    for i in range(1, 50):
        log.record(make_step(i))  # never raises in the caller
    assert log.flush(wait=True) is False
    for i in range(50, 60):
        log.record(make_step(i))
    log.close()
    assert len(warnings) == 1 and "No space left on device" in warnings[0]
    assert "the recording goes on" in warnings[0] and not log.active
    assert len(pd.read_csv(log.path("robot_state"))) in (1, 50)


def test_full_queue_drops_and_counts_instead_of_blocking(tmp_path):
    warnings: list[str] = []
    log = open_log(tmp_path, max_queue=10, flush_interval_s=60, on_warning=warnings.append)
    for i in range(25):
        log.record(make_step(i))
    assert log.dropped == 15
    log.close()
    assert len(pd.read_csv(log.path("robot_state"))) == 10
    assert warnings == ["inference logs: 15 steps dropped (the writer fell behind)"]


def test_episode_end_is_written_without_waiting_for_the_second(tmp_path):
    log = open_log(tmp_path, flush_interval_s=60)
    for i in range(5):
        log.record(make_step(i, event="episode_end" if i == 4 else ""))
    deadline = threading.Event()
    for _ in range(100):
        if len(pd.read_csv(log.path("trajectory"))) == 5:
            break
        deadline.wait(0.02)
    assert len(pd.read_csv(log.path("trajectory"))) == 5
    log.close()


def test_readable_by_pandas_while_being_written(tmp_path):
    log = open_log(tmp_path, flush_interval_s=0.005)
    stop = threading.Event()
    seen: list[int] = []
    problems: list[str] = []
    passes = [0]  # the reader's whole passes over the three files
    passed = threading.Condition()

    def reader():
        while not stop.is_set():
            for name in ("robot_state", "policy_inference", "trajectory"):
                # as FORMATS says: a write caught in progress cuts the last line short
                data = log.path(name).read_bytes()
                frame = pd.read_csv(io.BytesIO(data[: data.rfind(b"\n") + 1]))
                if frame["step"].isna().any() or frame.iloc[:, -1:].shape[1] != 1:
                    problems.append(name)
                if name == "robot_state":
                    if frame["gripper.current"].isna().any():
                        problems.append("half a row")
                    seen.append(len(frame))
            with passed:
                passes[0] += 1
                passed.notify_all()

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(3000):
        log.record(make_step(i))
        if i % 100 == 0:
            threading.Event().wait(0.002)
        if i % 500 == 499:  # the reader reads the files as they are now, however busy the machine
            log.flush(wait=True)
            with passed:
                start = passes[0]
                passed.wait_for(lambda start=start: passes[0] >= start + 2, timeout=30)
    log.flush(wait=True)
    stop.set()
    thread.join()
    log.close()
    assert problems == []
    assert len(set(seen)) > 2  # the reader saw the files grow
    assert len(pd.read_csv(log.path("robot_state"))) == 3000


def test_flushed_within_a_second_without_being_asked(tmp_path):
    log = open_log(tmp_path, flush_interval_s=0.2)
    log.record(make_step(0))
    for _ in range(100):
        if len(pd.read_csv(log.path("robot_state"))) == 1:
            break
        threading.Event().wait(0.02)
    assert len(pd.read_csv(log.path("robot_state"))) == 1
    log.close()
    log.close()  # idempotent


def test_open_inference_log_for_a_session(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from core.logs import open_inference_log

    monkeypatch.chdir(tmp_path)
    config = SimpleNamespace(dataset=SimpleNamespace(repo_id="username/pick_place"),
                             robot=SimpleNamespace(type="so101_follower"))  # fmt: skip
    devices = SimpleNamespace(motors=MOTORS, state_names=STATE, action_names=STATE)
    log = open_inference_log(config, devices)
    log.record(make_step(0))
    log.close()
    assert log.folder.parent == Path("inference_logs/pick_place")
    state = pd.read_csv(tmp_path / log.path("robot_state"))
    assert log.path("robot_state").name == "so101_follower_robot_state.csv" and len(state) == 1
