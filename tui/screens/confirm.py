"""Stopping mid-episode: save the episode in progress and stop, discard it and stop, or go on."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from core import messages as m


class StopScreen(ModalScreen["m.Stop | None"]):
    """Dismissed with the `Stop` to send, or None to keep recording."""

    BINDINGS = [
        Binding("s,enter", "answer('save')", "Save and stop", id="stop-save"),
        Binding("d", "answer('discard')", "Discard and stop", id="stop-discard"),
        Binding("n,escape", "answer('continue')", "Keep recording", id="stop-cancel"),
    ]
    DEFAULT_CSS = """
    StopScreen { align: center middle; }
    StopScreen > Vertical { width: 64; max-width: 100%; height: auto;
                            border: thick $servo-warn; background: $surface; padding: 0 1; }
    StopScreen .keys { margin-top: 1; }
    """

    def __init__(self, episode_index: int, frames: int):
        super().__init__()
        self.episode_index = episode_index
        self.frames = frames

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"[bold]Stop the session?[/] Episode {self.episode_index + 1} is being "
                         f"recorded ({self.frames} frames). Saved episodes stay either way.")
            yield Static("[bold]s[/] save it and stop   [bold]d[/] discard it and stop   "
                         "[bold]n[/]/Esc keep recording", classes="keys")

    def action_answer(self, choice: str) -> None:
        if choice == "continue":
            self.dismiss(None)
        else:
            self.dismiss(m.Stop(save_current=choice == "save"))
