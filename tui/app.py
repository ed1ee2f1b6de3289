"""The console app: one factory (`make_app`) for the CLI and every test, and the two entry points
the CLI calls (`run_console(config)`, `run_wizard()`), each returning an exit status.

The app owns an engine (normally an `EngineProcess`, the session in a child process), polls its
snapshot on a timer (about 10 times a second), drains its events and redraws only what changed.
It never runs engine code on its own thread beyond these quick calls, and the engine never calls
into it.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches

from core import messages as m
from core.console import edited_lines, episodes
from core.remote import Engine, failure_line
from hardware.errors import ConfigError
from tui.graphics import detect_graphics
from tui.screens.confirm import StopScreen
from tui.screens.dashboard import LIVE, TELEOP_KEYS_WIN, DashboardScreen
from tui.screens.engine_failed import EngineFailedScreen
from tui.screens.help import EXPLANATIONS, HelpScreen
from tui.themes import DEFAULT_THEME, check_theme_name, load_themes

log = logging.getLogger(__name__)
UI_NICE = 10  # the drawing thread's nice value while an engine runs


class ConsoleApp(App[int]):
    TITLE = "lerecord"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding(
            "space,exclamation_mark", "emergency_stop", "E-STOP", id="emergency-stop", priority=True
        ),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("t", "cycle_theme", "Theme", id="theme"),
    ]

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        keys: dict[str, str] | None = None,
        theme: str = DEFAULT_THEME,
        poll_hz: float = 10.0,
        forward_keys: bool = False,
        teleop_keys: list[tuple[str, str]] | None = None,
        wizard: bool = False,
        log_path: str | None = None,
        on_snapshot: Callable[[m.Telemetry], None] | None = None,
        start_engine: Callable[[Any], Engine] | None = None,
        detector: Callable[[], Any] | None = None,
        notes: list[str] | None = None,
        ui_nice: int = 0,
        graphics: str = "halfblocks",
        strategy: str | None = None,
        interactive: bool = False,
    ):
        super().__init__()
        self.engine = engine
        self.keys = keys or {}
        self.initial_theme = theme
        self.poll_hz = poll_hz
        self.forward_keys = forward_keys
        self.teleop_keys = teleop_keys or []  # (key, what it does) of the keyboard teleop
        self.start_wizard = wizard
        self.log_path = log_path
        self.on_snapshot = on_snapshot
        self.start_engine = start_engine
        self.detector = detector
        self.notes = notes or []
        self.ui_nice = ui_nice
        self.graphics = graphics  # how camera pictures are drawn: "halfblocks" or "kitty"
        self.strategy = strategy  # lerecord rollout's --strategy.type (its keys), else None
        self.interactive = interactive  # rollout --interactive=true: Start / Reset keys
        self._niced = False
        # created now, at normal priority: engines are spawned from it (see _yield_cpu_to_engine)
        self._launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engine-launcher")
        self._launcher.submit(lambda: None).result()
        self.telemetry = m.Telemetry()
        self.started: m.SessionStarted | None = None
        self.ended: m.SessionEnded | None = None
        self.pending_edits = m.EditsPending(0.0, ())  # the review's, applied at the end
        self.engine_error: str | None = None
        self.upload: str | None = None  # the upload's outcome, once known
        self.refused = False  # an in-process engine's start() refused the input
        self.theme_names: list[str] = []
        self.wizard_answers: dict[str, Any] = {}  # the last profile made, for `w`

    # ---- life cycle

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """The default theme's domain colours, until (and unless) a theme sets its own."""
        return dict(load_themes()[0].variables)

    async def on_mount(self) -> None:
        for theme in load_themes():
            self.register_theme(theme)
            self.theme_names.append(theme.name)
        self.theme = self.initial_theme
        if self.keys:
            self.set_keymap(self.keys)
        await self.push_screen(DashboardScreen())
        for note in self.notes:
            self.dashboard.note(note, "servo-warn")
        if self.start_wizard:
            self.open_wizard()
        if self.engine is not None:
            self.run_engine(self.engine)
        self.set_interval(1 / self.poll_hz, self.poll)

    def run_engine(self, engine: Engine) -> None:
        if self.engine is not None and self.engine is not engine:
            self.engine.close()
        self.engine = engine
        self.telemetry = m.Telemetry()
        self.started = self.ended = self.engine_error = self.upload = None
        self.refused = False
        try:
            self._launcher.submit(engine.start).result()
        except Exception as error:  # noqa: BLE001 - shown to the operator, not hidden
            self.refused = isinstance(error, ConfigError)
            self._engine_failed(failure_line(error))
        self._yield_cpu_to_engine()

    def _yield_cpu_to_engine(self) -> None:
        """Give the engine the CPU first when cores are scarce (bench/results/console.md).

        On Linux scheduling is per thread and new threads inherit their creator's: every thread
        of the app (the drawing thread and Textual's driver threads) goes `ui_nice` nicer than
        the process was started and to SCHED_IDLE (no privilege needed), except the launcher
        thread, which keeps the priority the user gave for the engines it spawns."""
        if self.ui_nice and not self._niced and sys.platform.startswith("linux"):
            launcher = self._launcher.submit(threading.get_native_id).result()
            nice = min(19, os.getpriority(os.PRIO_PROCESS, launcher) + self.ui_nice)  # relative
            for task in os.listdir("/proc/self/task"):  # the drawing thread and Textual's others
                if int(task) != launcher:
                    try:
                        os.setpriority(os.PRIO_PROCESS, int(task), nice)
                        # SCHED_IDLE: a waking control thread never waits for the console's
                        # time slice to end; the console still gets every idle moment.
                        os.sched_setscheduler(int(task), os.SCHED_IDLE, os.sched_param(0))
                    except OSError:  # a thread that just ended
                        pass
            self._niced = True

    def on_unmount(self) -> None:
        if self.engine is not None:
            self.engine.close()
        self._launcher.shutdown(wait=False)

    @property
    def dashboard(self) -> DashboardScreen:
        return next(s for s in self.screen_stack if isinstance(s, DashboardScreen))

    def poll(self) -> None:
        """Take the engine's latest snapshot and events and show what changed."""
        try:
            self._poll()
        except NoMatches:
            pass  # the app is shutting down and its widgets are already gone

    def _poll(self) -> None:
        engine = self.engine
        if engine is None or self.engine_error is not None:
            return
        if not any(isinstance(s, DashboardScreen) for s in self.screen_stack):
            return  # starting up or shutting down
        try:
            telemetry = engine.snapshot()
            events = engine.events()
        except Exception as error:  # noqa: BLE001 - an in-process engine failing
            self._engine_failed(failure_line(error))
            return
        dashboard = self.dashboard
        changed = telemetry is not self.telemetry
        if changed:
            self.telemetry = telemetry
            if self.on_snapshot is not None:
                self.on_snapshot(telemetry)
        for event in events:
            dashboard.log_event(event)
            if isinstance(event, m.SessionStarted):
                self.started = event
                dashboard.show_status(event, None)
            elif isinstance(event, m.OutcomeMarked):
                self._review_follows()
            elif isinstance(event, m.EditsPending):
                self.pending_edits = event
                self._review_follows()
            elif isinstance(event, m.UploadFinished):
                self.upload = f"uploaded: {event.url}"
            elif isinstance(event, m.UploadFailed):
                self.upload = f"upload failed: {event.message}"
            elif isinstance(event, m.SessionEnded):
                self.ended = event
                self.pending_edits = m.EditsPending(event.at, ())  # applied, or not: not pending
                changed = True
                if event.error:
                    self._engine_failed(event.error)
                else:
                    dashboard.note("press q to quit, w for a new session", "primary")
        if engine.error:
            self._engine_failed(engine.error)
        elif changed:
            self._show()

    def _review_follows(self) -> None:
        """A review screen opened in this session reads the dataset again (an outcome written)."""
        from tui.screens.review import ReviewScreen

        if isinstance(self.screen, ReviewScreen) and self.screen.live:
            self.screen.pending = self.pending_edits
            self.screen.reload(keep=self.screen.selected)

    def view(self) -> m.Telemetry:
        """The latest telemetry as the user must see it: its phase says whether the session
        runs, is paused, writes its last episodes, ended, was E-stopped or failed; once it is
        over, the counts and the torque are the session's final ones."""
        t = self.telemetry
        if self.engine_error is not None:  # the engine's last word on torque, if it had one
            torque = "off" if t.torque == "off" else "unknown"
            return replace(t, phase="failed", frame_index=0, torque=torque, action_source="hold")
        if self.ended is not None:
            phase = "e-stopped" if self.ended.reason == "emergency_stop" else "ended"
            torque = self.ended.torque if self.ended.torque != "unknown" else t.torque
            if self.ended.reason == "emergency_stop":
                torque = "off"
            return replace(t, phase=phase, episodes_saved=self.ended.episodes_saved,
                           frame_index=0, torque=torque, action_source="hold")  # fmt: skip
        if t.paused:
            return replace(t, phase="paused")
        return t

    def _show(self) -> None:
        view = self.view()
        self.dashboard.show(view)
        if isinstance(self.screen, StopScreen):
            self.screen.show(view)

    def _engine_failed(self, error: str) -> None:
        if self.engine_error is not None:
            return
        self.engine_error = error
        self._show()
        self.dashboard.show_status(self.started, error)
        self.dashboard.note(f"engine failed: {error}", "servo-fault")
        failed = EngineFailedScreen(error, self.log_path, self.view().torque)
        self.call_after_refresh(self.push_screen, failed)  # the dashboard painted under it first

    # ---- commands

    def command(self, command: m.Command) -> None:
        if self.engine is not None and not self._session_over():
            self.engine.send(command)

    def _session_over(self) -> bool:
        return self.ended is not None or self.engine_error is not None

    def request_stop(self) -> None:
        """Stop the session; mid-episode, ask whether to keep the episode in progress."""
        if self.engine is None or self._session_over():
            self.exit(self.exit_status())
            return
        t = self.telemetry
        if t.phase == "recording" and t.frame_index > 0:

            def answered(stop: m.Stop | None) -> None:
                if stop is not None:
                    self.command(stop)

            self.push_screen(StopScreen(t.episode_index, t.frame_index), answered)
        else:
            self.command(m.Stop(save_current=True))

    def action_emergency_stop(self) -> None:
        if self.engine is not None and not self._session_over():
            self.engine.send(m.EmergencyStop())
            self.dashboard.note("EMERGENCY STOP sent: torque off", "servo-fault")

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        groups: dict[str, tuple[list[str], Binding]] = {}
        for key, active in self.active_bindings.items():
            binding = active.binding
            if binding.id not in EXPLANATIONS:
                continue
            groups.setdefault(binding.id or binding.action, ([], binding))[0].append(key)
        rows = [(",".join(keys), binding) for keys, binding in groups.values()]
        self.push_screen(HelpScreen(rows, self.forward_keys, self.teleop_keys))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """E-STOP while a session runs; with a keyboard teleoperator, its keys win over the
        convenience bindings (theme)."""
        if action == "emergency_stop":
            return self.engine is not None and self.view().phase in LIVE
        return not (self.forward_keys and action in TELEOP_KEYS_WIN)

    def action_cycle_theme(self) -> None:
        names = self.theme_names
        self.theme = (
            names[(names.index(self.theme) + 1) % len(names)] if self.theme in names else names[0]
        )
        self.notify(f"theme: {self.theme}", timeout=2)

    def open_wizard(self) -> None:
        from tui.screens.wizard import WizardScreen

        if self.engine is not None and not self._session_over():
            self.notify("the wizard opens once this session is over (q stops it)", timeout=3)
            return

        def finished(config: Any) -> None:
            if config is None:
                if self.engine is None:
                    self.exit(0)
                return
            self.wizard_answers = wizard.answers
            if self.start_engine is not None:
                self.theme = console_options(config)["theme"]
                self.run_engine(self.start_engine(config))

        detector = {} if self.detector is None else {"detector": self.detector}
        wizard = WizardScreen(self.wizard_answers, **detector)
        self.push_screen(wizard, finished)

    async def action_quit(self) -> None:
        """Ctrl+Q: quitting mid-session goes through the stop question like q does."""
        self.request_stop()

    def action_leave(self) -> None:
        self.exit(self.exit_status())

    def exit_status(self) -> int:
        """0 after a session that ended as asked; 2 when the engine refused the input (a
        ConfigError: the message names the problem and the fix); 1 when it failed."""
        if self.engine_error is not None:
            return 2 if self._bad_input() else 1
        return 0

    def _bad_input(self) -> bool:
        return self.refused or (self.engine is not None and self.engine.bad_input)

    def summary(self) -> list[str]:
        """What the terminal shows once the console has closed: the session's outcome, where
        its dataset and logs are, the upload's state (as headless prints them)."""
        if self.engine_error is not None:
            lines = [f"lerecord: {self.engine_error}"]
            if self.log_path and not self._bad_input():
                lines.append(f"details: {self.log_path}")
            return lines
        if self.started is None:
            return []
        ended = self.ended
        saved = ended.episodes_saved if ended else self.view().episodes_saved
        how = ended.reason if ended else "closed"
        lines = [
            f"session {how}: {episodes(saved)} saved",
            f"dataset: {ended.dataset_root if ended else self.started.dataset_root}",
            f"logs: {self.started.log_dir or 'off'}",
        ]
        if ended is not None:
            lines += edited_lines(ended)
        if self.upload is not None:
            lines.append(self.upload)
        return lines


def make_app(engine: Engine | None = None, **options: Any) -> ConsoleApp:
    """The console app around `engine` (see `ConsoleApp` for the options)."""
    return ConsoleApp(engine, **options)


def _engine_log_path() -> str:
    """The engine child's log: in the user's own state folder (`$XDG_STATE_HOME/lerecord`,
    default ~/.local/state/lerecord), never a shared one another user could have made first."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    folder = os.path.join(state, "lerecord")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    return os.path.join(folder, f"engine-{time.strftime('%Y%m%d_%H%M%S')}-{os.getpid()}.log")


def binding_ids() -> list[str]:
    """The ids a profile's `[keys]` table can remap."""
    bindings = [*ConsoleApp.BINDINGS, *DashboardScreen.BINDINGS]
    return [b.id for b in bindings if isinstance(b, Binding) and b.id]


def check_keys(keys: dict[str, str]) -> None:
    unknown = sorted(set(keys) - set(binding_ids()))
    if unknown:
        raise ConfigError(
            f"keys: unknown binding {', '.join(map(repr, unknown))}; "
            f"the console's are {', '.join(binding_ids())}"
        )


def console_options(config: Any) -> dict[str, Any]:
    """What the app takes from a session config: theme, remapped keys, keyboard teleop."""
    from core.devices import teleop_key_help

    check_keys(dict(getattr(config, "keys", None) or {}))
    teleop = getattr(config, "teleop", None)
    teleop_keys = teleop_key_help(config.robot, teleop) if teleop is not None else []
    return {
        "theme": check_theme_name(getattr(config, "theme", None) or DEFAULT_THEME),
        "keys": dict(getattr(config, "keys", None) or {}),
        "forward_keys": bool(teleop_keys),
        "teleop_keys": teleop_keys,
        "strategy": rollout.strategy.type
        if (rollout := getattr(config, "rollout", None))
        else None,
        "interactive": bool(rollout and rollout.interactive),
    }


def start_session(config: Any) -> Engine:
    """The real engine for `config`, in a child process, its output kept off the terminal."""
    from core.remote import EngineProcess

    return EngineProcess(config, output=_engine_log_path())


def display_data(config: Any) -> tuple[Callable[[m.Telemetry], None] | None, list[str]]:
    """`--display_data=true`: a Rerun streamer fed from the app's snapshots (never from the
    control loop), or a note saying why not."""
    if not getattr(config, "display_data", False):
        return None, []
    from core.rerun_stream import MISSING_NOTE, RerunStreamer

    if not RerunStreamer.available():
        return None, [MISSING_NOTE]
    streamer = RerunStreamer.for_session(config)
    return (streamer.log if streamer is not None else None), []


@contextmanager
def logging_to(path: str):
    """While the console draws, log records go to a file, never onto the terminal."""
    root = logging.getLogger()
    saved = root.handlers[:]
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.handlers = [handler]
    try:
        yield
    finally:
        root.handlers = saved
        handler.close()


def run_console(config: Any) -> int:
    """Record the session `config` describes, in the full-screen console; the exit status."""
    options = console_options(config)  # a bad [keys] table or theme: an error before anything
    graphics = detect_graphics()
    engine = start_session(config)
    log_path = engine.output
    with logging_to(log_path + ".console"):
        on_snapshot, notes = display_data(config)
        app = make_app(
            engine,
            log_path=log_path,
            start_engine=start_session,
            on_snapshot=on_snapshot,
            notes=notes,
            ui_nice=UI_NICE,
            graphics=graphics,
            **options,
        )
        status = app.run()
        engine.close()
    _print_summary(app)
    return app.exit_status() if status is None else status


def run_wizard() -> int:
    """Open the session wizard; once it is done, record the session it set up."""
    graphics = detect_graphics()
    with logging_to(_engine_log_path() + ".console"):
        app = make_app(
            None, wizard=True, start_engine=start_session, ui_nice=UI_NICE, graphics=graphics
        )
        status = app.run()
        if app.engine is not None:
            app.engine.close()
    _print_summary(app)
    return app.exit_status() if status is None else status


def _print_summary(app: ConsoleApp) -> None:
    """The console's renderer, after the screen is restored: its summary on the terminal."""
    lines = app.summary()
    if lines:
        stream = sys.stderr if app.engine_error is not None else sys.stdout
        stream.write("\n".join(lines) + "\n")
        stream.flush()
