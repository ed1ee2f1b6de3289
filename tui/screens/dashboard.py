"""The dashboard: everything the operator needs during a session, on one screen.

Bordered, titled panels: the servo table with the policy and timing panels under it on the left,
the camera previews taking all the room left on the right, the event log below. Small
terminals drop what does not fit (the previews below 76 columns, the timing panel on very short
ones) rather than overlap; the header's clock and the key bar are never cut.

The key bar offers only what works in the phase the header shows (`phase` below): Next,
Re-record, Pause and Stop while a session runs, Resume while paused, Quit and New session once
it is over, nothing but Help and Theme while the last episodes are written.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.screen import Screen

from core import messages as m
from core.console import OUTCOME_KEYS
from tui.components.camera_preview import CameraPreviews
from tui.components.episode_progress import OVER, EpisodeProgress
from tui.components.event_log import EventLog
from tui.components.key_bar import KeyBar
from tui.components.policy_panel import PolicyPanel
from tui.components.score_tally import ScoreTally
from tui.components.servo_table import ServoTable
from tui.components.status_line import StatusLine
from tui.components.timing_panel import TimingPanel

TELEOP_KEYS_WIN = ("wizard", "cycle_theme")  # bindings a keyboard teleoperator takes over
# a rollout strategy's phases (core.strategies, core.interactive)
ROLLOUT_PHASES = ("running", "buffering", "handover", "correction", "returning", "waiting")
LIVE = ("connecting", "recording", "reset", "paused", *ROLLOUT_PHASES)  # commands reach it
# the actions each phase offers (the others are hidden from the key bar and do nothing)
OFFERED = {
    "exit_early": ("recording", "reset"),
    "rerecord": ("recording", "reset"),
    "mark": ("recording", "reset"),
    "review": ("reset", *OVER),
    "pause": ("recording", "reset", "running", "buffering", "correction"),
    "resume": ("paused",),
    "stop": LIVE,
    "leave": OVER,
    "wizard": OVER,
    "wizard_refused": (*LIVE, "saving"),
    "highlight_save": ("buffering", "recording"),
    "push": LIVE,
    "take_over": ("running",),
    "give_back": ("handover", "correction"),
    "start_run": ("waiting",),
    "reset_run": ("waiting", "running", "recording"),
}
INTERACTIVE_ACTIONS = ("start_run", "reset_run")  # `lerecord rollout --interactive=true`
# the rollout strategies whose keys they are (`--strategy.type`); other actions are everyone's
STRATEGY_ACTIONS = {
    "highlight_save": ("highlight",),
    "push": ("highlight", "dagger"),
    "take_over": ("dagger",),
    "give_back": ("dagger",),
}
# what they send: highlight's save / push, dagger's correction / upload (core.strategies)
STRATEGY_KEYS = {
    ("highlight_save", "highlight"): "save",
    ("push", "highlight"): "push",
    ("push", "dagger"): "upload",
    ("take_over", "dagger"): "correction",
    ("give_back", "dagger"): "correction",
}
INTERACTIVE_KEYS = {"start_run": "start", "reset_run": "reset"}  # its /start and /reset


class DashboardScreen(Screen):
    BINDINGS = [
        Binding("right,n", "exit_early", "Next", id="exit-early"),
        Binding("left,r", "rerecord", "Re-record", id="rerecord"),
        Binding("escape,q", "stop", "Stop", id="stop"),
        Binding("escape,q", "leave", "Quit", id="quit"),
        Binding("p", "pause", "Pause", id="pause"),
        Binding("p", "resume", "Resume", id="resume"),
        Binding(OUTCOME_KEYS["success"], "mark('success')", "Success", id="mark-success"),
        Binding(OUTCOME_KEYS["failure"], "mark('failure')", "Failure", id="mark-failure"),
        Binding("v", "review", "Review", id="review"),
        # rollout strategies: keys neither the console nor a keyboard teleop uses (lerobot's
        # s / h and space / tab / enter are shoulder / success, E-STOP / focus / … here)
        Binding("b", "highlight_save", "Save highlight", id="highlight-save"),
        Binding("u", "push", "Push", id="push"),
        Binding("y", "take_over", "Take over", id="take-over"),
        Binding("y", "give_back", "Give back", id="give-back"),
        Binding("enter", "start_run", "Start", id="start"),
        Binding("home", "reset_run", "Reset home", id="reset"),
        Binding("w", "wizard", "New session", id="wizard"),
        Binding("w", "wizard_refused", "Wizard", show=False),
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (76, "-medium"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-tiny"), (22, "-short"), (30, "-medium"), (36, "-tall")]
    DEFAULT_CSS = """
    DashboardScreen { layout: vertical; }
    DashboardScreen #main { height: 1fr; }
    DashboardScreen #left { width: 1fr; }
    DashboardScreen #lower { height: 1fr; min-height: 5; }
    DashboardScreen PolicyPanel { width: 1fr; height: 100%; overflow: hidden; }
    DashboardScreen TimingPanel { width: 1fr; height: 100%; }
    DashboardScreen CameraPreviews { display: none; }
    DashboardScreen.-medium #left, DashboardScreen.-wide #left { width: 62; }
    DashboardScreen.-wide #left { width: 71; }
    DashboardScreen.-medium CameraPreviews, DashboardScreen.-wide CameraPreviews {
        display: block; width: 1fr; }
    DashboardScreen EventLog { height: 6; }
    DashboardScreen.-tiny EventLog { height: 3; }
    DashboardScreen.-tiny TimingPanel { display: none; }
    DashboardScreen.-medium EventLog { height: 7; }
    DashboardScreen.-tall EventLog { height: 9; }
    DashboardScreen.-tall #lower { layout: vertical; }
    DashboardScreen.-tall PolicyPanel { height: auto; }
    DashboardScreen.-tall TimingPanel { height: 1fr; }
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.phase = "connecting"  # what the keys offer: the engine's phase, or one just asked
        self.reported = "connecting"  # the phase the engine last reported
        self.unpaused = "recording"  # the phase a resume returns to

    def compose(self) -> ComposeResult:
        yield EpisodeProgress()
        yield ScoreTally()
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield ServoTable()
                with Horizontal(id="lower"):
                    yield PolicyPanel()
                    yield TimingPanel()
            yield CameraPreviews()
        yield EventLog()
        yield StatusLine()
        yield KeyBar()

    def show(self, telemetry: m.Telemetry) -> None:
        """Draw `telemetry`, its phase as the user must see it (see `ConsoleApp.view`)."""
        if telemetry.phase != self.reported:
            self.reported = telemetry.phase
            if telemetry.phase != "paused":
                self.unpaused = telemetry.phase
            self._offer(telemetry.phase)
        self.query_one(EpisodeProgress).show(telemetry)
        self.query_one(ScoreTally).show(telemetry)
        self.query_one(ServoTable).show(telemetry.servos, telemetry.torque)
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

    def action_review(self) -> None:
        """The review screen on the dataset being recorded (during a reset, or after)."""
        started = self.app.started
        if started is None or self.app.telemetry.phase not in ("reset", *OVER):
            self.note("the review screen opens during a reset", "servo-warn")
            return
        from tui.screens.review import ReviewScreen

        live = self.app.telemetry.phase not in OVER  # once over, the review edits the files
        review = ReviewScreen(Path(started.dataset_root), started.repo_id, live=live)
        review.pending = self.app.pending_edits
        self.app.push_screen(review)

    def action_rerecord(self) -> None:
        self.app.command(m.Rerecord())

    def action_stop(self) -> None:
        self.app.request_stop()

    def action_leave(self) -> None:
        self.app.action_leave()

    def action_pause(self) -> None:
        self.app.command(m.Pause())
        self._offer("paused")

    def action_resume(self) -> None:
        self.app.command(m.Resume())
        self._offer(self.unpaused)

    def _offer(self, phase: str) -> None:
        """The keys of `phase` at once: p pressed again before the engine's next snapshot
        resumes what it paused (the engine's next reported phase replaces this one)."""
        if phase != self.phase:
            self.phase = phase
            self.refresh_bindings()

    def action_wizard(self) -> None:
        self.app.open_wizard()

    def _strategy_key(self, action: str) -> None:
        key = STRATEGY_KEYS.get((action, self.app.strategy))
        if key is not None:
            self.app.command(m.StrategyKey(key))

    def action_highlight_save(self) -> None:
        self._strategy_key("highlight_save")

    def action_push(self) -> None:
        self._strategy_key("push")

    def action_take_over(self) -> None:
        self._strategy_key("take_over")

    def action_give_back(self) -> None:
        self._strategy_key("give_back")

    def action_start_run(self) -> None:
        self.app.command(m.StrategyKey(INTERACTIVE_KEYS["start_run"]))

    def action_reset_run(self) -> None:
        self.app.command(m.StrategyKey(INTERACTIVE_KEYS["reset_run"]))

    def action_wizard_refused(self) -> None:
        self.app.notify("the wizard opens once this session is over (q stops it)", timeout=3)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only what works in the shown phase; with a keyboard teleoperator, its keys (w:
        forward, lift) win over the wizard's."""
        if self.app.forward_keys and action in (*TELEOP_KEYS_WIN, "wizard_refused"):
            return False
        if action in STRATEGY_ACTIONS and self.app.strategy not in STRATEGY_ACTIONS[action]:
            return False
        if action in INTERACTIVE_ACTIONS and not self.app.interactive:
            return False
        phases = OFFERED.get(action)
        return phases is None or self.phase in phases

    def on_key(self, event: Key) -> None:
        """Keys no binding took go to the keyboard teleoperator, when there is one."""
        if self.app.forward_keys and event.key not in self.app.active_bindings:
            self.app.command(m.TeleopKey(event.key))
            event.stop()
