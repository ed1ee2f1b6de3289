"""The upload sends the dataset as it is after its deletes and relabels: `lerecord push` after
`lerecord edit`, and the push that ends a session (`--dataset.push_to_hub=true`) after outcomes
marked during its resets and an episode re-recorded. The Hub's servers cannot be reached here:
`FakeHub` (tests/test_dataset_hub.py) stands in for `HfApi` and keeps the bytes each upload
sent; those files, written out as the Hub would hold them, are read back with pyarrow, decoded
with PyAV and loaded by lerobot 0.6.1 itself."""

from __future__ import annotations

import json
import time
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq
from dataset_support import MOTORS, check_loadable, record_episode
from interop import run_lerobot
from session_support import finish, sim_args, wait_for
from test_dataset_hub import CAMERAS, FakeHub

from core import messages as m
from core.commands import push as push_command
from core.config import parse_record_args
from core.dataset import DatasetRecorder
from core.dataset.features import dataset_features
from core.dataset.prune import delete_episodes, relabel_episode
from core.session import Session

LOAD_OUTCOMES = Path(__file__).with_name("lerobot_compat") / "load_outcomes.py"
VIDEO = "videos/observation.images.front"


def _episodes(root: Path) -> dict[str, list]:
    files = sorted((root / "meta/episodes").glob("*/*.parquet"))
    tables = [pq.read_table(f).to_pydict() for f in files]
    return {k: [v for t in tables for v in t[k]] for k in tables[0]}


def _recorded_in(root: Path) -> list[int]:
    """Per decoded video frame, the episode it was recorded in: `frame_image` encodes it in
    the green of the left half (40 + 30 × episode, give or take the codec's loss)."""
    bands = []
    for path in sorted((root / VIDEO).glob("*/*.mp4")):
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                image = frame.to_ndarray(format="rgb24")
                green = float(np.median(image[:, : image.shape[1] // 2, 1]))
                bands.append(round((green - 40) / 30))
    return bands


def _lerobot_view(root: Path, repo_id: str) -> dict:
    out = run_lerobot([str(LOAD_OUTCOMES), str(root), repo_id])
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_lerecord_push_uploads_the_dataset_after_its_deletes_and_relabels(tmp_path):
    root = tmp_path / "ds"
    observation = {**{f"{name}.pos": float for name in MOTORS}, **CAMERAS}
    action = {f"{name}.pos": float for name in MOTORS}
    features = dataset_features(observation, action, video=True, outcomes=True)
    recorder = DatasetRecorder.create(root, "alice/judged", 30, "so_follower", features)
    lengths = [6, 9, 7, 5]
    for episode, outcome in enumerate(["success", "failure", "success", None]):
        record_episode(recorder, episode, lengths[episode], "Pick", CAMERAS)
        recorder.save_episode(outcome).wait(30)
    recorder.close()
    delete_episodes(root, [1])  # old 0, 2, 3 become 0, 1, 2
    relabel_episode(root, "alice/judged", 1, "failure")
    relabel_episode(root, "alice/judged", 2, "success")
    hub = FakeHub()
    assert push_command.main(["alice/judged", "--root", str(root)], api=hub) == 0
    stored = hub.stored("alice/judged", tmp_path / "hub")
    assert not any(name.startswith(".lerecord/") for name in hub.contents["alice/judged"])

    info = check_loadable(stored)
    assert info["total_episodes"] == 3 and info["total_frames"] == 6 + 7 + 5
    episodes = _episodes(stored)
    assert episodes["episode_index"] == [0, 1, 2] and episodes["length"] == [6, 7, 5]
    assert episodes["outcome"] == ["success", "failure", "success"]
    data = pq.read_table(sorted((stored / "data").glob("*/*.parquet"))[0]).to_pydict()
    assert data["episode_index"] == [0] * 6 + [1] * 7 + [2] * 5
    # the deleted episode's rows are gone: its states (seeded by its old index) are nowhere
    deleted = (np.random.default_rng(1).normal(size=6) * 20).astype(np.float32)
    states = np.asarray(data["observation.state"], dtype=np.float32)
    assert not np.isclose(states, deleted).all(axis=1).any()
    assert np.isclose(states[6], (np.random.default_rng(2).normal(size=6) * 20)).all()
    # ... and so are its video frames: old episodes 0, 2, 3 in order, 18 frames
    assert _recorded_in(stored) == [0] * 6 + [2] * 7 + [3] * 5
    seen = _lerobot_view(stored, "alice/judged")
    assert seen["outcomes"] == ["success", "failure", "success"]
    assert [item["episode_index"] for item in seen["items"]] == [0] * 6 + [1] * 7 + [2] * 5


def test_the_push_that_ends_a_session_sends_its_marks_and_not_a_taken_back_episode(tmp_path):
    root = tmp_path / "ds"
    hub = FakeHub(user="local")
    args = sim_args(root, "--dataset.push_to_hub=true", "--dataset.reset_time_s=2",
                    episodes=2, seconds=1.0)  # fmt: skip
    session = Session(parse_record_args(args), hub_api=hub)
    session.start()
    seen: list = []
    assert wait_for(session, m.EpisodeSaved, seen).frames == 30
    session.send(m.Rerecord())  # during its reset: episode 0 is taken out, recorded again
    assert wait_for(session, m.EpisodeDiscarded, seen).reason == "rerecord"
    assert wait_for(session, m.EpisodeStarted, seen).episode_index == 0
    session.send(m.MarkOutcome("failure"))  # ends the second take at once, a failure
    assert wait_for(session, m.OutcomeMarked, seen).outcome == "failure"
    deadline = time.monotonic() + 10  # the telemetry follows the event by a step
    while session.snapshot().phase != "reset" and time.monotonic() < deadline:
        time.sleep(0.005)
    assert session.snapshot().phase == "reset"
    session.send(m.MarkOutcome("success"))  # changes its outcome
    assert wait_for(session, m.OutcomeMarked, seen).outcome == "success"
    assert wait_for(session, m.EpisodeStarted, seen).episode_index == 1
    session.send(m.MarkOutcome("failure"))
    ended = finish(session, seen)
    assert ended.episodes_saved == 2
    stored = hub.stored("local/session_test", tmp_path / "hub")
    info = check_loadable(stored)
    assert info["total_episodes"] == 2
    episodes = _episodes(stored)
    assert episodes["outcome"] == ["success", "failure"]
    assert episodes["length"][0] < 30  # the second take, not the 30 frames taken back
    assert sum(episodes["length"]) == info["total_frames"] == len(_recorded_in(stored))
    view = _lerobot_view(stored, "local/session_test")
    assert view["outcomes"] == ["success", "failure"]
    ends = [i for i in view["items"] if i["next.done"] in (True, [True])]
    assert [i["next.success"] in (True, [True]) for i in ends] == [True, False]
