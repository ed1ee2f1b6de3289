"""Stopping mid-episode: save the episode in progress and stop, discard it and stop, or go on.

The question follows the session while it is open: the frame count grows, and an episode that
ended meanwhile (saved by its timer) is said to be safe.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from core import messages as m
from tui.screens.dialog import dialog_css


class StopScreen(ModalScreen["m.Stop | None"]):
    """Dismissed with the `Stop` to send, or None to keep recording."""

    BINDINGS = [
        Binding("s,enter", "answer('save')", "Save and stop", id="stop-save"),
        Binding("d", "answer('discard')", "Discard and stop", id="stop-discard"),
        Binding("n,escape", "answer('continue')", "Keep recording", id="stop-cancel"),
    ]
    DEFAULT_CSS = dialog_css(
        "StopScreen", 64, "thick $servo-warn", extra="StopScreen .keys { margin-top: 1; }"
    )

    def __init__(self, episode_index: int, frames: int):
        super().__init__()
        self.episode_index = episode_index
        self.frames = frames

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._question("recording"), id="question")
            yield Static(
                "[bold]s[/] save it and stop   [bold]d[/] discard it and stop   "
                "[bold]n[/]/Esc keep recording",
                classes="keys",
            )

    def _question(self, phase: str) -> str:
        if phase == "recording":
            return (
                f"[bold]Stop the session?[/] Episode {self.episode_index} is being "
                f"recorded ({self.frames} frames). Saved episodes stay either way."
            )
        return (
            f"[bold]Stop the session?[/] Episode {self.episode_index} is no longer being "
            f"recorded (now: {phase}). Saved episodes stay either way."
        )

    def show(self, t: m.Telemetry) -> None:
        """The session's latest state (the app calls this at every poll)."""
        if t.phase == "recording":
            self.episode_index, self.frames = t.episode_index, t.frame_index
        self.query_one("#question", Static).update(self._question(t.phase))

    def action_answer(self, choice: str) -> None:
        if choice == "continue":
            self.dismiss(None)
        else:
            self.dismiss(m.Stop(save_current=choice == "save"))


class LeaveWizardScreen(ModalScreen[bool]):
    """Esc in the wizard: leave it (nothing saved), or go back to the answers."""

    BINDINGS = [
        Binding("y", "answer(True)", "Leave", id="wizard-leave"),
        Binding("n,escape", "answer(False)", "Stay", id="wizard-stay"),
    ]
    DEFAULT_CSS = dialog_css("LeaveWizardScreen", 56, "thick $servo-warn")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[bold]Leave the wizard?[/] The answers are not saved.")
            yield Static("[bold]y[/] leave   [bold]n[/]/Esc back to the wizard", classes="keys")

    def action_answer(self, leave: bool) -> None:
        self.dismiss(leave)
