"""The review screen (`lerecord review`): snapshots of the episode list, a frame scrub and the
joint plots at 120x40 and 80x24, and the edits a reviewer makes from it, checked on disk.
Update with `pytest tests/test_tui_review.py --snapshot-update` after a deliberate change."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pandas as pd
import pytest
from dataset_support import MOTORS, check_loadable, read_data, record_episode
from textual.widgets import DataTable

from core import messages as m
from core.dataset import DatasetRecorder, dataset_features
from core.dataset.layout import read_json
from core.dataset.outcomes import read_outcomes
from tui.review import ReviewApp
from tui.screens.review import ReviewScreen

SIZES = [(80, 24), (120, 40)]
CAMERAS = {"front": (48, 64, 3)}
SAVED_AT = 1_790_000_000  # every file's time, so the "saved" column is the same on every run


def _dataset(root: Path) -> Path:
    joints = {f"{m}.pos": float for m in MOTORS}
    features = dataset_features({**joints, **CAMERAS}, joints, video=True, outcomes=True)
    recorder = DatasetRecorder.create(root, "local/review", 30, "so_follower", features,
                                      vcodec="h264", queue_size=400)  # fmt: skip
    for episode, (length, outcome) in enumerate([(40, "success"), (25, "failure"), (30, None)]):
        record_episode(recorder, episode, length, "Pick up the cube", CAMERAS)
        recorder.save_episode(outcome)
    recorder.close()
    for path in root.rglob("*"):
        os.utime(path, (SAVED_AT, SAVED_AT))
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return _dataset(tmp_path_factory.mktemp("review") / "ds")


async def _settle(pilot):
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(
    "scenario, keys",
    [("list", []), ("scrub", ["right"] * 12), ("second", ["down", "shift+right", "right"])],
)
def test_review_screen(snap_compare, dataset, scenario, keys, size):
    app = ReviewApp(dataset, "local/review")
    assert snap_compare(app, terminal_size=size, press=keys, run_before=_settle)


async def test_scrubbing_moves_through_the_frames_and_stops_at_the_ends(dataset):
    app = ReviewApp(dataset, "local/review")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.1)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        assert [e.length for e in screen.episodes] == [40, 25, 30]
        await pilot.press("left")
        assert screen.frame == 0
        await pilot.press("shift+right", "shift+right", "right")
        assert screen.frame == 21
        for _ in range(5):
            await pilot.press("shift+right")
        assert screen.frame == 39
        await pilot.press("down")
        assert screen.selected == 1 and screen.frame == 0 and len(screen._frames) == 25


async def _next_frame(screen: ReviewScreen, after: int) -> tuple[int, float]:
    """The first frame shown past `after`, and when it was seen (within 5 s)."""
    deadline = time.monotonic() + 5
    while screen.frame == after and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    return screen.frame, time.monotonic()


async def test_play_advances_at_the_dataset_rate(dataset):
    # Bounds that hold however late the event loop runs: a frame seen at time t was due at a tick
    # no later than t, and a frame that changed since time s was due at a tick after s.
    app = ReviewApp(dataset, "local/review")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        end = len(screen._frames) - 1
        pressed = time.monotonic()
        app.simulate_key("p")  # pilot.press would wait for a screen the playback keeps busy
        first, seen = await _next_frame(screen, 0)
        time.sleep(0.4)  # the event loop blocked: the ticks due meanwhile come late
        blocked_until = time.monotonic()
        last, last_seen = await _next_frame(screen, first)
        app.simulate_key("p")
        # by the clock: the late tick skipped the frames due while blocked, no frame early
        assert last >= min(first + int(30 * (blocked_until - seen)) - 1, end), (first, last)
        assert last <= 30 * (last_seen - pressed) + 1, (first, last, last_seen - pressed)
        await pilot.pause(0.2)
        stopped = screen.frame
        await pilot.pause(0.3)
        assert screen.frame == stopped < end  # p again stopped it


async def test_relabel_delete_and_undo_from_the_review_screen(tmp_path):
    root = _dataset(tmp_path / "ds")
    app = ReviewApp(root, "local/review")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("down", "down", "h")
        assert read_outcomes(root) == {0: "success", 1: "failure", 2: "success"}
        await pilot.press("up", "d")
        assert read_json(root / "meta/info.json")["total_episodes"] == 3  # armed, not done
        await pilot.press("d")
        assert read_outcomes(root) == {0: "success", 1: "success"}
        assert [e.length for e in app.screen.episodes] == [40, 30]
        check_loadable(root)
        await pilot.press("u")
        assert read_outcomes(root) == {0: "success", 1: "failure", 2: "success"}
        check_loadable(root)


async def test_a_task_edited_from_the_review_screen_is_written_and_undone(tmp_path):
    root = _dataset(tmp_path / "ds")
    app = ReviewApp(root, "local/review")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("down", "t")
        field = app.screen.query_one("#task")
        assert field.value == "Pick up the cube"
        await pilot.press("escape")  # cancels: nothing written, the screen stays
        assert isinstance(app.screen, ReviewScreen) and not field.has_class("-editing")
        await pilot.press("t", *["backspace"] * 16, *"Place it", "enter")
        assert app.screen.episodes[1].tasks == ("Place it",)
        tasks = pd.read_parquet(root / "meta/tasks.parquet")
        assert sorted(tasks.index) == ["Pick up the cube", "Place it"]
        data = read_data(root)
        placed = tasks.loc["Place it", "task_index"]
        assert set(data[data["episode_index"] == 1]["task_index"]) == {placed}
        check_loadable(root)
        await pilot.press("u")
        assert [e.tasks for e in app.screen.episodes] == [("Pick up the cube",)] * 3
        assert list(pd.read_parquet(root / "meta/tasks.parquet").index) == ["Pick up the cube"]


async def open_live_review(app, pilot, dataset) -> None:
    """Wait for the scripted session's reset, point it at `dataset` and press v."""
    import dataclasses

    for _ in range(100):
        if app.started is not None and app.telemetry.phase == "reset":
            break
        await pilot.pause(0.05)
    app.started = dataclasses.replace(app.started, dataset_root=str(dataset))
    await pilot.press("v")
    await pilot.pause(0.2)


async def test_v_during_a_reset_opens_the_review_of_the_dataset_being_recorded(dataset):
    from tui_helpers import scripted_app

    app, engine, _ = scripted_app("reset", start_at_s=0.5)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_live_review(app, pilot, dataset)
        review = app.screen
        assert isinstance(review, ReviewScreen) and review.live
        assert [e.outcome for e in review.episodes] == ["success", "failure", None]
        before = read_outcomes(dataset)
        await pilot.press("d")  # the session holds the dataset: marked, not deleted
        await pilot.pause(0.2)
        assert engine.received[-1] == m.MarkDeletion(0)
        assert read_outcomes(dataset) == before
        assert "deleted when the session ends" in str(review.query_one("#status").render())
        assert review.pending.episodes == (0,)
        assert "1 to delete at the end" in str(review.query_one("#title").render())
        await pilot.press("u")  # takes the mark back
        await pilot.pause(0.2)
        assert engine.received[-1] == m.MarkDeletion(0, delete=False)
        assert review.pending.episodes == ()
        await pilot.press("t", *["backspace"] * 16, *"Stack", "enter")  # waits for the end
        await pilot.pause(0.2)
        assert engine.received[-1] == m.EditTask(0, "Stack")
        assert "Stack (at the end)" in str(review.query_one(DataTable).get_row_at(0))
        await pilot.press("down", "down", "h")  # the session's recorder relabels episode 2
        await pilot.pause(0.1)
        assert engine.received[-1] == m.MarkOutcome("success", 2)
        assert read_outcomes(dataset) == before  # the screen itself writes nothing
        assert "episode 2: success" in str(review.query_one("#status").render())
        await pilot.press("q")
        assert not isinstance(app.screen, ReviewScreen)


def _review_with_a_pending_delete(dataset: Path):
    """The console during a reset (one episode saved), its review opened with `v`, episode 0
    marked with `d`."""

    from tui_helpers import scripted_app

    app, _, _ = scripted_app("reset", start_at_s=0.5)

    async def open_and_mark(pilot) -> None:
        await open_live_review(app, pilot, dataset)
        await pilot.press("d")
        await pilot.pause(0.3)

    return app, open_and_mark


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_review_screen_with_a_pending_delete(snap_compare, dataset, size):
    app, open_and_mark = _review_with_a_pending_delete(dataset)
    assert snap_compare(app, terminal_size=size, run_before=open_and_mark)


def test_the_console_exit_summary_names_the_episodes_edited_at_the_end():
    from tui_helpers import scripted_app

    app, _, _ = scripted_app()
    app.started = m.SessionStarted(0.0, "so101_follower", "/data/ds", "local/review", 3)
    app.ended = m.SessionEnded(2.0, "completed", 3, "/data/ds", deleted=(1,), retasked=(0,))
    assert app.summary() == [
        "session completed: 3 episodes saved",
        "dataset: /data/ds",
        "logs: off",
        "Deleted at the end: episode 1 (the others renumbered from 0)",
        "New task at the end: episode 0 (as renumbered)",
    ]
