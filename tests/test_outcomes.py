"""Episode outcomes: marked while recording or during the reset, stored per episode and per
frame, relabelled, counted in the score; read back with pyarrow and with `lerecord score`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from dataset_support import MOTORS, check_loadable, fixture_dataset, record_episode, so_features
from interop import run_lerobot
from session_support import ROOT, finish, sim_args, start_session, wait_for

from core import messages as m
from core.config import parse_record_args
from core.dataset import DatasetRecorder
from core.dataset import stats as dstats
from core.dataset.episodes import list_episodes
from core.dataset.features import OUTCOME_FEATURES, dataset_features
from core.dataset.layout import read_json
from core.dataset.outcomes import SIDECAR_PATH, read_outcomes
from core.dataset.prune import delete_episodes, relabel_episode, undo_last_edit
from core.headless import key_command
from core.score import Score
from core.session import Session

OBSERVATION = {f"{name}.pos": float for name in MOTORS}
EPISODE_VALUES = ROOT / "tests/lerobot_compat/episode_values.py"


def _recorder(root, **kw) -> DatasetRecorder:
    features = dataset_features(OBSERVATION, OBSERVATION, video=False, outcomes=True)
    return DatasetRecorder.create(root, "local/judged", 30, "so_follower", features, **kw)


def _frames(root) -> dict[str, list]:
    table = pq.read_table(sorted(root.glob("data/*/*.parquet"))[0])
    return table.select(["episode_index", *OUTCOME_FEATURES]).to_pydict()


def test_outcomes_are_stored_per_episode_and_per_frame_as_lerobot_eval_writes_them(tmp_path):
    root = tmp_path / "ds"
    recorder = _recorder(root)
    for episode, (length, outcome) in enumerate([(4, "success"), (3, None), (5, "failure")]):
        record_episode(recorder, episode, length, "Pick", {})
        recorder.save_episode(outcome)
    recorder.close()
    info = check_loadable(root)
    assert {k: info["features"][k] for k in OUTCOME_FEATURES} == OUTCOME_FEATURES
    assert read_outcomes(root) == {0: "success", 1: None, 2: "failure"}
    frames = _frames(root)
    assert frames["next.done"] == [False] * 3 + [True] + [False] * 2 + [True] + [False] * 4 + [True]
    assert frames["next.success"] == [False] * 3 + [True] + [False] * 8
    assert frames["next.reward"] == [0.0] * 3 + [1.0] + [0.0] * 8
    schema = pq.read_schema(sorted(root.glob("data/*/*.parquet"))[0])
    assert str(schema.field("next.success").type) == "bool"
    assert str(schema.field("next.reward").type) == "float"


def test_relabelling_rewrites_the_frames_the_episode_row_and_the_dataset_stats(tmp_path):
    root = tmp_path / "ds"
    recorder = _recorder(root)
    for episode in range(3):
        record_episode(recorder, episode, 4 + episode, "Pick", {})
        recorder.save_episode()
    recorder.mark_outcome(1, "success")
    recorder.mark_outcome(2, "failure")
    recorder.mark_outcome(0, "success")
    recorder.mark_outcome(0, "failure")  # changed its mind
    assert recorder.wait_saves(10)
    written = [e for e in recorder.events() if type(e).__name__ == "OutcomeWritten"]
    recorder.close()
    assert [(e.episode_index, e.outcome, e.error) for e in written] == [
        (1, "success", None), (2, "failure", None), (0, "success", None), (0, "failure", None),
    ]  # fmt: skip
    check_loadable(root)
    assert read_outcomes(root) == {0: "failure", 1: "success", 2: "failure"}
    frames = _frames(root)
    assert frames["next.success"] == [False] * 8 + [True] + [False] * 6
    # Per-episode stats and the dataset's are those of the frames as they are now.
    rows = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    success = np.array(frames["next.success"])
    episodes = np.array(frames["episode_index"])
    for row in rows:
        expected = dstats.vector_stats(success[episodes == row["episode_index"]])
        for stat in dstats.STAT_KEYS:
            got = np.array(row[f"stats/next.success/{stat}"])
            assert np.allclose(got, expected[stat]), (row["episode_index"], stat)
    on_disk = read_json(root / "meta/stats.json")["next.success"]
    assert on_disk["max"] == [1.0] and on_disk["count"] == [15]
    assert on_disk["mean"] == pytest.approx([1 / 15])


def test_a_relabel_of_a_missing_episode_is_reported_and_changes_nothing(tmp_path):
    root = tmp_path / "ds"
    recorder = _recorder(root)
    record_episode(recorder, 0, 3, "Pick", {})
    recorder.save_episode("success")
    assert recorder.wait_saves(10)
    before = {p: p.read_bytes() for p in root.rglob("*.parquet")}
    recorder.mark_outcome(7, "failure")
    assert recorder.wait_saves(10)
    written = [e for e in recorder.events() if type(e).__name__ == "OutcomeWritten"]
    recorder.close()
    assert "episode 7: not in the dataset" in written[0].error
    assert {p: p.read_bytes() for p in root.rglob("*.parquet")} == before


def test_resuming_a_lerobot_dataset_keeps_lerobots_columns_and_its_outcomes_in_a_sidecar(
    tmp_path,
):
    root = tmp_path / "ds"
    shutil.copytree(fixture_dataset(), root)
    info = read_json(root / "meta/info.json")
    cameras = {
        k.removeprefix("observation.images."): tuple(ft["shape"])
        for k, ft in info["features"].items()
        if ft["dtype"] == "video"
    }
    features = so_features(cameras)
    with_outcomes = {**features, **OUTCOME_FEATURES}
    repo_id = info.get("repo_id", "local/fixture")
    recorder = DatasetRecorder.resume(
        root, repo_id, info["fps"], info["robot_type"], with_outcomes, vcodec="h264"
    )
    first = recorder.meta.total_episodes
    record_episode(recorder, first, 5, "Pick", cameras)
    recorder.save_episode("success")
    recorder.mark_outcome(0, "failure")
    record_episode(recorder, first + 1, 4, "Pick", cameras)
    recorder.save_episode(None)
    assert recorder.wait_saves(30)
    recorder.close()
    after = read_json(root / "meta/info.json")
    assert not set(OUTCOME_FEATURES) & set(after["features"])
    check_loadable(root)
    # lerobot's loader refuses episodes files whose columns differ, so a dataset lerobot
    # recorded keeps lerobot's columns and its outcomes go to meta/outcomes.json
    for path in (root / "meta/episodes").rglob("*.parquet"):
        assert "outcome" not in pq.read_schema(path).names
    assert read_json(root / SIDECAR_PATH) == {"0": "failure", str(first): "success"}
    expected = {0: "failure", **dict.fromkeys(range(1, first)), first: "success", first + 1: None}
    assert read_outcomes(root) == expected
    assert [e.outcome for e in list_episodes(root)] == list(expected.values())
    loaded = run_lerobot([str(EPISODE_VALUES), str(root), repo_id, "frame_index"])
    assert loaded.returncode == 0, loaded.stderr[-2000:]  # lerobot ignores the sidecar
    assert len(json.loads(loaded.stdout.splitlines()[-1])["episodes"]) == first + 2

    relabel_episode(root, repo_id, first, "failure")  # lerecord edit … label
    relabel_episode(root, repo_id, 0, None)
    assert read_json(root / SIDECAR_PATH) == {str(first): "failure"}
    delete_episodes(root, [1])  # one episodes file again: the sidecar folds into the column
    assert not (root / SIDECAR_PATH).exists()
    assert read_outcomes(root) == {**dict.fromkeys(range(first - 1)), first - 1: "failure",
                                   first: None}  # fmt: skip
    check_loadable(root)
    assert undo_last_edit(root)  # the sidecar comes back with the episodes as they were
    assert read_json(root / SIDECAR_PATH) == {str(first): "failure"}
    assert read_outcomes(root)[first] == "failure"


def test_the_score_counts_outcomes_with_a_wilson_interval():
    score = Score.of(["success", "success", "failure", "success", None])
    assert (score.successes, score.failures, score.unmarked) == (3, 1, 1)
    lo, hi = score.interval()
    assert lo == pytest.approx(0.3006, abs=1e-4) and hi == pytest.approx(0.9544, abs=1e-4)
    assert score.summary() == ("3 successes, 1 failure, 1 not marked: 75% success (95% CI 30–95%)")
    assert Score.of([None, None]).interval() is None
    assert (
        Score.of([None]).summary() == "0 successes, 0 failures, 1 not marked: no success rate yet"
    )
    lo, hi = Score.of(["success"] * 10).interval()
    assert hi == pytest.approx(1.0) and lo == pytest.approx(0.7225, abs=1e-4)


def test_headless_keys_mark_success_and_failure():
    assert key_command("h") == m.MarkOutcome("success")
    assert key_command("m") == m.MarkOutcome("failure")


def test_a_session_marks_while_recording_and_during_the_reset(tmp_path):
    root = tmp_path / "ds"
    session = start_session(root, "--dataset.reset_time_s=3", episodes=3, seconds=5.0)
    seen: list = []
    wait_for(session, m.EpisodeStarted, seen)
    time.sleep(0.3)
    session.send(m.MarkOutcome("success"))  # ends episode 0 as a success
    marked = wait_for(session, m.OutcomeMarked, seen)
    assert (marked.episode_index, marked.outcome) == (0, "success")
    session.send(m.ExitEarly())  # skip the reset
    wait_for(session, m.EpisodeStarted, seen)
    time.sleep(0.3)
    session.send(m.ExitEarly())  # episode 1 ends unmarked ...
    wait_for(session, m.EpisodeSaved, seen)
    session.send(m.MarkOutcome("failure"))  # ... and is judged during its reset
    marked = wait_for(session, m.OutcomeMarked, seen)
    assert (marked.episode_index, marked.outcome, marked.score) == (1, "failure", Score(1, 1, 0))
    session.send(m.ExitEarly())
    wait_for(session, m.EpisodeStarted, seen)
    time.sleep(0.3)
    session.send(m.ExitEarly())
    ended = finish(session, seen)  # the last episode has no reset: it stays unmarked
    assert ended.score == Score(1, 1, 1)
    assert read_outcomes(root) == {0: "success", 1: "failure", 2: None}
    check_loadable(root)


def test_the_outcome_prompt_holds_the_reset_until_an_answer_and_the_log_shows_it(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the inference logs go to ./inference_logs
    root = tmp_path / "ds"
    session = Session(
        parse_record_args(
            sim_args(
                root,
                "--dataset.outcome_prompt=true",
                "--dataset.reset_time_s=0.2",
                "--dataset.outcome_wait_s=60",
                "--log=true",
                episodes=2,
                seconds=0.3,
            )  # fmt: skip
        )
    )
    session.start()
    seen: list = []
    asked = wait_for(session, m.OutcomeAsked, seen)
    assert asked.episode_index == 0
    time.sleep(1.0)  # five times the reset time: the reset still waits (up to 60 s)
    assert session.snapshot().phase == "reset" and session.snapshot().awaiting_outcome
    session.send(m.MarkOutcome("failure"))
    started = wait_for(session, m.EpisodeStarted, seen)
    assert started.episode_index == 1
    asked = wait_for(session, m.OutcomeAsked, seen)  # the last episode is asked about too
    assert asked.episode_index == 1
    time.sleep(0.5)
    assert not session.finished.is_set()
    session.send(m.MarkOutcome("success"))
    ended = finish(session, seen)
    assert [e.episode_index for e in seen if isinstance(e, m.EpisodeStarted)] == [0, 1]
    assert ended.score == Score(1, 1, 0)
    assert read_outcomes(root) == {0: "failure", 1: "success"}
    trajectory = pd.read_csv(next(tmp_path.glob("inference_logs/*/*/*_trajectory.csv")))
    marks = trajectory[trajectory["event"].isin(["success", "failure"])]
    assert marks["event"].tolist() == ["failure", "success"]
    assert marks["episode_index"].tolist() == [1, 2]  # the resets after episodes 0 and 1


def test_lerecord_score_prints_the_tally_and_refuses_a_missing_dataset(tmp_path):
    root = tmp_path / "ds"
    recorder = _recorder(root)
    for episode, outcome in enumerate(["success", "failure", "success", None, "success"]):
        record_episode(recorder, episode, 2, "Pick", {})
        recorder.save_episode(outcome)
    recorder.close()
    run = [sys.executable, "-m", "core.cli", "score", "local/judged"]
    done = subprocess.run(
        [*run, f"--root={root}"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "local/judged: 5 episodes",
        "  success: 0, 2, 4",
        "  failure: 1",
        "  not marked: 3",
        "Score: 3 successes, 1 failure, 1 not marked: 75% success (95% CI 30–95%)",
    ]
    missing = subprocess.run(
        [*run, f"--root={tmp_path / 'nothing'}"], cwd=ROOT, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.count("\n") == 1 and "no dataset at" in missing.stderr
    assert not (tmp_path / "nothing").exists()


def test_the_review_in_a_session_relabels_an_earlier_episode_while_recording_goes_on(tmp_path):
    root = tmp_path / "ds"
    # episodes of 3 s: on a loaded machine episode 0's save may come a second or two into episode 1
    session = start_session(root, "--dataset.reset_time_s=0.2", episodes=2, seconds=3.0)
    seen: list = []
    while wait_for(session, m.EpisodeStarted, seen).episode_index != 1:
        pass
    if not any(isinstance(e, m.EpisodeSaved) for e in seen):  # the save may come after
        wait_for(session, m.EpisodeSaved, seen)  # episode 0, saved unmarked
    session.send(m.MarkOutcome("failure", 0))  # the review screen's h, while episode 1 records
    marked = wait_for(session, m.OutcomeMarked, seen)
    assert (marked.episode_index, marked.outcome) == (0, "failure")
    assert session.snapshot().phase == "recording"  # episode 1 goes on
    session.send(m.MarkOutcome("success", 5))  # no such episode: said, nothing written
    while "episode 5" not in wait_for(session, m.WarningRaised, seen).message:
        pass
    ended = finish(session, seen)
    saved = [e for e in seen if isinstance(e, m.EpisodeSaved)]
    assert [e.frames for e in saved] == [90, 90]  # the relabel ended no episode
    assert ended.score == Score(0, 1, 1)
    assert read_outcomes(root) == {0: "failure", 1: None}
    check_loadable(root)
