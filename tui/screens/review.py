"""The review screen: a dataset's episodes, and for the selected one its camera frames and its
joint trajectories, with the edits a reviewer makes (relabel, delete, undo).

Keys: ↑/↓ choose an episode, ←/→ scrub one frame (shift: ten), p plays at the dataset's rate,
h / m mark success / failure (opened in a session: the session's recorder relabels, and
the list follows its `OutcomeMarked`), d twice deletes the episode (the others are renumbered, as
lerobot-edit-dataset does), t edits its task (Enter saves, Escape cancels), u undoes the last
edit, q leaves. Opened in a session, d marks the episode to delete when the session ends (struck
in the list), u takes the mark back, and a task edit waits for the end too: the session applies
them after its last save, before its upload; a session killed before keeps every episode.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from core import messages as m
from core.console import OUTCOME_KEYS
from core.dataset import episodes as ep
from core.dataset.prune import delete_episodes, relabel_episode, retask_episode, undo_last_edit
from core.score import Score
from core.telemetry import thumbnail
from hardware.errors import ConfigError
from tui.components.camera_preview import CameraImage
from tui.components.trajectory_plot import TrajectoryPlot


class ReviewScreen(Screen):
    BINDINGS = [
        Binding("left", "scrub(-1)", "Frame", id="review-back", priority=True),
        Binding("right", "scrub(1)", "Frame", id="review-forward", show=False, priority=True),
        Binding("shift+left", "scrub(-10)", "-10", id="review-back-10", show=False, priority=True),
        Binding(
            "shift+right", "scrub(10)", "+10", id="review-forward-10", show=False, priority=True
        ),  # fmt: skip
        Binding("p", "play", "Play", id="review-play"),
        Binding(OUTCOME_KEYS["success"], "mark('success')", "Success", id="review-success"),
        Binding(OUTCOME_KEYS["failure"], "mark('failure')", "Failure", id="review-failure"),
        Binding("d", "delete", "Delete", id="review-delete"),
        Binding("u", "undo", "Undo", id="review-undo"),
        Binding("t", "edit_task", "Task", id="review-task"),
        Binding("q,escape", "leave", "Back", id="review-leave"),
    ]
    DEFAULT_CSS = """
    ReviewScreen { layout: vertical; }
    ReviewScreen #title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    ReviewScreen #top { height: 10; }
    ReviewScreen DataTable { width: 1fr; }
    ReviewScreen #camera { width: 26; margin-left: 1; }
    ReviewScreen CameraImage { height: 1fr; }
    ReviewScreen #frame { height: 1; }
    ReviewScreen #status { height: 1; padding: 0 1; color: $warning; }
    ReviewScreen #task { display: none; }
    ReviewScreen #task.-editing { display: block; }
    ReviewScreen TrajectoryPlot { height: 1fr; }
    ReviewScreen.-wide #top { height: 16; }
    ReviewScreen.-wide #camera { width: 44; }
    """
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]

    def __init__(self, root: Path, repo_id: str, live: bool = False, **kwargs):
        """`live`: opened from a recording session, which holds the dataset (read only here)."""
        super().__init__(**kwargs)
        self.root = Path(root)
        self.repo_id = repo_id
        self.live = live
        self.episodes: list[ep.EpisodeSummary] = []
        self.selected: int | None = None
        self.frame = 0
        self._frames: list = []
        self._arrays: ep.EpisodeArrays | None = None
        self._camera = None
        self._player = None
        self._played_from = (0.0, 0)  # when play was pressed, and the frame it started at
        self._delete_armed = False
        self.pending = m.EditsPending(0.0, ())  # live: the edits waiting for the session's end

    def compose(self) -> ComposeResult:
        yield Static("", id="title")
        with Horizontal(id="top"):
            yield DataTable(cursor_type="row", zebra_stripes=True)
            with Vertical(id="camera"):
                yield CameraImage()
                yield Static("", id="frame")
        yield TrajectoryPlot()
        yield Static("", id="status")
        yield Input(placeholder="the episode's new task (Enter saves, Escape cancels)", id="task")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("ep", "frames", "task", "outcome", "saved")
        cameras = ep.camera_keys(self.root)
        self._camera = cameras[0] if cameras else None
        self.reload()

    # ---- the episode list

    def reload(self, keep: int | None = None) -> None:
        self.episodes = ep.list_episodes(self.root)
        table = self.query_one(DataTable)
        table.clear()
        deleting, tasks = self.pending.episodes, dict(self.pending.tasks)
        for e in self.episodes:
            task = f"{tasks[e.index]} (at the end)" if e.index in tasks else ", ".join(e.tasks)
            cells = [str(e.index), str(e.length), task, e.outcome or "—", e.saved_at]
            if e.index in deleting:
                cells[3] = "to delete"
                table.add_row(*(Text(cell, style="strike") for cell in cells))
            else:
                table.add_row(*cells)
        score = Score.of(e.outcome for e in self.episodes if e.index not in deleting)
        marked = f" {len(deleting)} to delete at the end." if deleting else ""
        self.query_one("#title", Static).update(
            f"Review {self.repo_id}: {len(self.episodes)} episodes.{marked} {score.summary()}"
        )
        if self.episodes:
            row = min(keep if keep is not None else 0, len(self.episodes) - 1)
            table.move_cursor(row=row)
            self.choose_episode(row)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row != self.selected:
            self.choose_episode(event.cursor_row)

    def choose_episode(self, row: int) -> None:
        self.selected = row
        self.frame = 0
        self._delete_armed = False
        index = self.episodes[row].index
        self._arrays = ep.episode_arrays(self.root, index)
        self._frames = ep.episode_frames(self.root, index, self._camera) if self._camera else []
        self.show_frame()

    # ---- the selected episode

    def show_frame(self) -> None:
        if self._arrays is None:
            return
        length = len(self._arrays.states)
        self.frame = max(0, min(self.frame, length - 1))
        fps = self._arrays.fps
        self.query_one("#frame", Static).update(
            f"frame {self.frame}/{length - 1}  {self.frame / fps:5.2f} s"
        )
        if self._frames:
            image = self._frames[min(self.frame, len(self._frames) - 1)]
            name = self._camera.removeprefix("observation.images.")
            self.query_one(CameraImage).show(thumbnail(name, image, width=image.shape[1]))
        self.query_one(TrajectoryPlot).show(
            self._arrays.state_names, self._arrays.states, self._arrays.actions, self.frame
        )

    def action_scrub(self, step: int) -> None:
        self.frame += step
        self.show_frame()

    def action_play(self) -> None:
        if self._player is not None:
            self._player.stop()
            self._player = None
            return
        if self._arrays is None:
            return
        if self.frame >= len(self._arrays.states) - 1:
            self.frame = 0
        self._played_from = (time.monotonic(), self.frame)
        self._player = self.set_interval(1 / self._arrays.fps, self._advance)

    def _advance(self) -> None:
        """Real speed by the clock: a late tick skips frames rather than slowing the playback."""
        if self._arrays is None or self.frame >= len(self._arrays.states) - 1:
            self.action_play()  # stop at the end
            return
        started, first = self._played_from
        due = first + int((time.monotonic() - started) * self._arrays.fps)
        self.action_scrub(min(due, len(self._arrays.states) - 1) - self.frame)

    # ---- edits

    def _episode(self) -> ep.EpisodeSummary | None:
        return None if self.selected is None else self.episodes[self.selected]

    def action_mark(self, outcome: str) -> None:
        episode = self._episode()
        if episode is None:
            return
        if self.live:  # the session's recorder writes it, behind its saves; the list follows
            self.app.command(m.MarkOutcome(outcome, episode.index))
            self._say(f"episode {episode.index}: {outcome} (the session writes it)")
            return
        self._edit(lambda: relabel_episode(self.root, self.repo_id, episode.index, outcome),
                   f"episode {episode.index}: {outcome}")  # fmt: skip

    def action_delete(self) -> None:
        episode = self._episode()
        if episode is None:
            return
        if self.live:  # the session deletes it once its last episode is saved
            self.app.command(m.MarkDeletion(episode.index))
            self._say(
                f"episode {episode.index}: deleted when the session ends (u takes it back; "
                "a session killed before its end keeps it)"
            )
            return
        if not self._delete_armed:
            self._delete_armed = True
            self._say(f"press d again to delete episode {episode.index} (u undoes it)")
            return
        self._edit(lambda: delete_episodes(self.root, [episode.index]),
                   f"episode {episode.index} deleted; the others are renumbered")  # fmt: skip

    def action_undo(self) -> None:
        episode = self._episode()
        if self.live and episode is not None and episode.index in self.pending.episodes:
            self.app.command(m.MarkDeletion(episode.index, delete=False))
            self._say(f"episode {episode.index}: kept")
            return

        def undo() -> None:
            if not undo_last_edit(self.root):
                raise ConfigError("nothing to undo")

        self._edit(undo, "the last edit is undone")

    def action_edit_task(self) -> None:
        episode = self._episode()
        if episode is None:
            return
        field = self.query_one("#task", Input)
        field.value = dict(self.pending.tasks).get(episode.index, ", ".join(episode.tasks))
        field.add_class("-editing")
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        episode, task = self._episode(), event.value.strip()
        self._close_task_field()
        if episode is None:
            return
        if self.live:  # applied with the deletions when the session ends
            self.app.command(m.EditTask(episode.index, task))
            self._say(f"episode {episode.index}: task {task!r} when the session ends")
            return
        self._edit(lambda: retask_episode(self.root, episode.index, task),
                   f"episode {episode.index}: task {task!r}")  # fmt: skip

    def _close_task_field(self) -> bool:
        """Hide the task field; False when it was not open."""
        field = self.query_one("#task", Input)
        if not field.has_class("-editing"):
            return False
        field.remove_class("-editing")
        self.query_one(DataTable).focus()
        return True

    def _edit(self, change, done: str) -> None:
        self._delete_armed = False
        if self.live:
            self._say(
                "the session is recording into this dataset: d marks the selected episode "
                "to delete at its end, u takes the mark back, h / m relabel"
            )
            return
        try:
            change()
        except ConfigError as error:
            self._say(str(error))
            return
        self.reload(keep=self.selected)
        self._say(done)

    def _say(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def action_leave(self) -> None:
        if self._close_task_field():  # Escape in the task field cancels the edit
            return
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit(0)
