"""Shown when the engine fails: why it failed, and what still holds."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.screens.dialog import dialog_css

TORQUE_SAYS = {
    "off": "Torque is off on every servo.",
    "unknown": "Torque unknown: the servos may still be powered. Switch the arm's power off.",
}


class EngineFailedScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("q", "app.leave", "Quit", id="failed-quit"),
        Binding("escape", "dismiss", "Back to the dashboard", id="failed-back"),
    ]
    DEFAULT_CSS = dialog_css(
        "EngineFailedScreen",
        72,
        "thick $servo-fault",
        extra="EngineFailedScreen #title { color: $servo-fault; text-style: bold; }",
    )

    def __init__(self, error: str, log_path: str | None, torque: str):
        super().__init__()
        self.error = error
        self.log_path = log_path
        self.torque = torque

    def compose(self) -> ComposeResult:
        where = f"\nDetails: {self.log_path}" if self.log_path else ""
        with Vertical():
            yield Static("The session engine failed", id="title")
            yield Static(self.error, markup=False)
            yield Static(TORQUE_SAYS.get(self.torque, TORQUE_SAYS["unknown"]), markup=False)
            yield Static(
                f"Episodes saved before the failure stay in the dataset.{where}", markup=False
            )
            yield Static("[bold]q[/] quit    [bold]Esc[/] back to the dashboard")
