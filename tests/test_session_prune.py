"""Deleting episodes and editing a task from the review screen inside a live session: the
edits wait for the end of the session, then go through the journaled edit of `lerecord edit`
after the last save and before the upload. The dataset is read back with pyarrow, checked as
lerobot 0.6.1 loads it (itself, in the interop environment), and the upload sends the pruned
dataset: `FakeHub` (tests/test_dataset_hub.py) stands in for the Hub's servers and keeps the
bytes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
from dataset_support import check_loadable
from interop import run_lerobot
from session_support import ROOT, finish, sim_args, wait_for
from test_dataset_hub import FakeHub
from test_upload_after_edits import _episodes, _recorded_in

from core import messages as m
from core.config import parse_record_args
from core.console import format_event
from core.dataset.commit import recover
from core.score import Score
from core.session import Session

COMPAT = Path(__file__).with_name("lerobot_compat")


def _saved(session: Session, index: int, seen: list) -> None:
    while not any(isinstance(e, m.EpisodeSaved) and e.episode_index == index for e in seen):
        wait_for(session, m.EpisodeSaved, seen)


def test_episodes_marked_in_a_session_are_deleted_at_its_end_before_the_upload(tmp_path):
    root = tmp_path / "ds"
    hub = FakeHub(user="local")
    args = sim_args(
        root, "--dataset.push_to_hub=true", "--dataset.reset_time_s=30", episodes=3, seconds=1.0
    )  # the resets end with ExitEarly
    session = Session(parse_record_args(args), hub_api=hub)
    session.start()
    seen: list = []
    wait_for(session, m.EpisodeStarted, seen)
    session.send(m.MarkOutcome("success"))  # ends episode 0 early, a success
    _saved(session, 0, seen)
    session.send(m.MarkDeletion(0))
    assert wait_for(session, m.EditsPending, seen).episodes == (0,)
    session.send(m.ExitEarly())
    assert wait_for(session, m.EpisodeStarted, seen).episode_index == 1
    session.send(m.MarkOutcome("failure"))
    _saved(session, 1, seen)
    session.send(m.MarkDeletion(1))
    assert wait_for(session, m.EditsPending, seen).episodes == (0, 1)
    session.send(m.MarkDeletion(7))  # not saved: said, nothing marked
    assert "episode 7 is not saved" in wait_for(session, m.WarningRaised, seen).message
    session.send(m.MarkDeletion(0, delete=False))  # the undo
    assert wait_for(session, m.EditsPending, seen).episodes == (1,)
    session.send(m.EditTask(0, "  Place the cube "))  # the review's t, Enter
    marked = wait_for(session, m.EditsPending, seen)
    assert marked == m.EditsPending(marked.at, (1,), ((0, "Place the cube"),))
    line = format_event(marked)
    assert "delete episode 1; episode 0's task becomes 'Place the cube'" in line
    assert "a session killed before its end keeps every episode as recorded" in line
    assert len(list((root / "meta/episodes").glob("*/*.parquet"))) >= 1
    session.send(m.ExitEarly())  # episode 2 records its full second, and the session ends
    ended = finish(session, seen)

    assert ended.episodes_saved == 3 and ended.deleted == (1,) and ended.retasked == (0,)
    assert ended.score == Score(1, 0, 1)  # the kept ones: episode 0's success, 2 unmarked
    assert "Deleted at the end: episode 1 (the others renumbered from 0)" in format_event(ended)
    lengths = {e.episode_index: e.frames for e in seen if isinstance(e, m.EpisodeSaved)}
    assert lengths[2] == 30
    data = pq.read_table(root / "data/chunk-000/file-000.parquet").to_pydict()
    assert data["episode_index"] == [0] * lengths[0] + [1] * lengths[2]
    assert data["index"] == list(range(lengths[0] + lengths[2]))
    episodes = _episodes(root)
    assert episodes["episode_index"] == [0, 1]
    assert episodes["outcome"] == ["success", None]
    assert episodes["length"] == [lengths[0], lengths[2]]
    assert episodes["tasks"] == [["Place the cube"], ["Pick up the cube"]]
    tasks = pq.read_table(root / "meta/tasks.parquet").to_pydict()
    assert sorted(zip(tasks["task_index"], tasks["task"], strict=True)) == [
        (0, "Pick up the cube"),
        (1, "Place the cube"),
    ]
    assert data["task_index"] == [1] * lengths[0] + [0] * lengths[2]
    info = check_loadable(root)
    assert info["total_episodes"] == 2 and info["total_frames"] == lengths[0] + lengths[2]
    assert len(_recorded_in(root)) == info["total_frames"]  # episode 1's frames left the video

    assert any(isinstance(e, m.UploadFinished) for e in seen)
    sent = hub.files["local/session_test"]
    for path, digest in sent.items():  # the upload is the pruned dataset, byte for byte
        assert hashlib.sha256((root / path).read_bytes()).hexdigest() == digest, path
    stored = hub.stored("local/session_test", tmp_path / "hub")
    loaded = run_lerobot([str(COMPAT / "load_dataset.py"), str(stored), "local/session_test"])
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    items = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert (items["episodes"], items["tasks"]) == (2, 2)
    assert items["item_tasks"] == ["Place the cube"] * lengths[0] + ["Pick up the cube"] * 30


KILLED_SESSION = """
import sys
from session_support import start_session, wait_for
from core import messages as m

session = start_session(__import__("pathlib").Path(sys.argv[1]), "--dataset.reset_time_s=60",
                        episodes=3, seconds=0.5)
seen = []
wait_for(session, m.EpisodeSaved, seen, timeout=60)
session.send(m.ExitEarly())  # the reset after episode 0
while wait_for(session, m.EpisodeSaved, seen, timeout=60).episode_index != 1:
    pass
session.send(m.MarkDeletion(0))
session.send(m.EditTask(0, "Place the cube"))
wait_for(session, m.EditsPending, seen)
wait_for(session, m.EditsPending, seen)
print("marked", flush=True)
session.wait(120)
"""


def test_a_session_killed_before_its_end_keeps_the_episodes_marked_to_delete(tmp_path):
    root = tmp_path / "ds"
    env = dict(os.environ, PYTHONPATH=f"{ROOT}:{ROOT / 'tests'}", PYTHONUNBUFFERED="1")
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_SESSION, str(root)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout.readline().strip() == "marked", child.stderr.read()[-2000:]
        child.send_signal(signal.SIGKILL)  # during the reset, the marks only in memory
        child.wait(30)
    finally:
        child.kill()
        child.wait(30)
    recover(root)  # what every opener does first
    info = check_loadable(root)
    assert info["total_episodes"] == 2  # episode 0 not deleted, its task not changed
    assert _episodes(root)["tasks"] == [["Pick up the cube"]] * 2


async def test_the_console_review_marks_a_delete_that_the_session_applies_at_its_end(tmp_path):
    """The whole path in the console: a real session (emulators), `v` during the reset, `d` on
    episode 0, the mark shown struck, the session ended, the dataset and the summary checked."""
    from tui_helpers import shows

    from tui.app import make_app
    from tui.screens.review import ReviewScreen

    root = tmp_path / "ds"
    args = sim_args(root, "--dataset.reset_time_s=30", episodes=2, seconds=0.5)
    app = make_app(Session(parse_record_args(args)))
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(400):  # episode 0 saved, its reset under way
            if app.telemetry.phase == "reset" and app.telemetry.episodes_saved >= 1:
                break
            await pilot.pause(0.05)
        await pilot.press("v")
        await pilot.pause(0.3)
        review = app.screen
        assert isinstance(review, ReviewScreen) and review.live
        await pilot.press("d")
        assert await shows(pilot, app, "1 to delete at the end")
        assert review.pending.episodes == (0,)
        await pilot.press("q", "right")  # back to the dashboard; the reset ends, episode 1 runs
        for _ in range(400):
            if app.ended is not None:
                break
            await pilot.pause(0.05)
        assert app.ended is not None and app.ended.deleted == (0,)
    assert "Deleted at the end: episode 0 (the others renumbered from 0)" in app.summary()
    info = check_loadable(root)
    assert info["total_episodes"] == 1
