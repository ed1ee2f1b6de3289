"""The dashboard: everything the operator needs during a session, on one screen.

Laid out for 80x24 first (servo table and camera previews, policy and timing side by side, the
event log below); wider and taller terminals give the previews and the log more room.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import Key
from textual.screen import Screen
from textual.widgets import Footer

from core import messages as m
from core.console import OUTCOME_KEYS
from tui.components.camera_preview import CameraPreviews
from tui.components.episode_progress import EpisodeProgress
from tui.components.event_log import EventLog
from tui.components.policy_panel import PolicyPanel
from tui.components.score_tally import ScoreTally
from tui.components.servo_table import ServoTable
from tui.components.status_line import StatusLine
from tui.components.timing_panel import TimingPanel

TELEOP_KEYS_WIN = ("wizard", "cycle_theme")  # bindings a keyboard teleoperator takes over


class DashboardScreen(Screen):
    BINDINGS = [
        Binding("right,n", "exit_early", "Next", id="exit-early"),
        Binding("left,r", "rerecord", "Re-record", id="rerecord"),
        Binding("escape,q", "stop", "Stop", id="stop"),
        Binding("p", "pause", "Pause", id="pause"),
        Binding(OUTCOME_KEYS["success"], "mark('success')", "Success", id="mark-success"),
        Binding(OUTCOME_KEYS["failure"], "mark('failure')", "Failure", id="mark-failure"),
        Binding("w", "wizard", "Wizard", id="wizard", show=False),
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-medium"), (130, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (28, "-medium"), (36, "-tall")]
    DEFAULT_CSS = """
    DashboardScreen { layout: vertical; }
    DashboardScreen #middle { height: 9; }
    DashboardScreen #lower { height: 6; }
    DashboardScreen ServoTable { width: 1fr; }
    DashboardScreen CameraPreviews { width: 18; margin-left: 1; }
    DashboardScreen PolicyPanel { width: 1fr; }
    DashboardScreen TimingPanel { width: 1fr; margin-left: 1; }
    DashboardScreen EventLog { height: 1fr; min-height: 2; }
    DashboardScreen.-medium CameraPreviews { width: 30; }
    DashboardScreen.-wide CameraPreviews { width: 44; }
    DashboardScreen.-medium #middle { height: 12; }
    DashboardScreen.-medium #lower { height: 7; }
    DashboardScreen.-tall #middle { height: 18; }
    DashboardScreen.-tall #lower { height: 8; }
    """

    def compose(self) -> ComposeResult:
        yield EpisodeProgress()
        yield ScoreTally()
        with Horizontal(id="middle"):
            yield ServoTable()
            yield CameraPreviews()
        with Horizontal(id="lower"):
            yield PolicyPanel()
            yield TimingPanel()
        yield EventLog()
        yield StatusLine()
        yield Footer()

    def show(self, telemetry: m.Telemetry) -> None:
        self.query_one(EpisodeProgress).show(telemetry)
        self.query_one(ScoreTally).show(telemetry)
        self.query_one(ServoTable).show(telemetry.servos)
        self.query_one(CameraPreviews).show(telemetry.cameras)
        self.query_one(PolicyPanel).show(telemetry)
        self.query_one(TimingPanel).show(telemetry.timing)

    def log_event(self, event: m.Event) -> None:
        self.query_one(EventLog).add(event)

    def note(self, text: str, variable: str = "foreground") -> None:
        self.query_one(EventLog).note(text, variable)

    def show_status(self, started: m.SessionStarted | None, error: str | None) -> None:
        self.query_one(StatusLine).show(started, error)

    # the actions live on the app, which owns the engine
    def action_exit_early(self) -> None:
        self.app.command(m.ExitEarly())

    def action_mark(self, outcome: str) -> None:
        """End the episode with this outcome, or mark the one just saved (during the reset)."""
        self.app.command(m.MarkOutcome(outcome))

    def action_rerecord(self) -> None:
        self.app.command(m.Rerecord())

    def action_stop(self) -> None:
        self.app.request_stop()

    def action_pause(self) -> None:
        self.app.toggle_pause()

    def action_wizard(self) -> None:
        self.app.open_wizard()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """With a keyboard teleoperator, its keys (w: forward, lift) win over the wizard's."""
        return not (self.app.forward_keys and action in TELEOP_KEYS_WIN)

    def on_key(self, event: Key) -> None:
        """Keys no binding took go to the keyboard teleoperator, when there is one."""
        if self.app.forward_keys and event.key not in self.app.active_bindings:
            self.app.command(m.TeleopKey(event.key))
            event.stop()
