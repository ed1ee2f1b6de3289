"""`lerecord rollout --interactive=true`: the rollout driven by commands typed on stdin, as
lerobot-rollout's interactive session (lerobot after 0.6.1; base and sentry strategies).

The arm holds, policy loaded, until `/start`; each `/start` runs the strategy afresh
(`--duration` bounds that run, not the session); `/reset` ends the run (a sentry episode in
progress is saved) and slides the arm back to its start pose, where it holds; `/stop` ends the
session; the end of the input stream stops it too (nothing is left to command the arm with).
`InteractivePlan` is the phase plan (core.plan); `InteractiveCommands` reads the lines on a
daemon thread and answers on the session's output.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol, TextIO

from core import messages as m
from core.plan import Phase, PhasePlan, PhaseResult, Verdict

log = logging.getLogger(__name__)

WAIT_S = 3600.0  # the hold before /start is one phase an hour, repeated
RETURN_S = 3.0  # the slide back to the start pose (as the end of a rollout)
COMMANDS = {
    "start": "start (or restart) the policy control loop",
    "reset": "stop moving, return to the start pose and hold there",
    "stop": "end the session and shut down",
    "help": "show this help",
}
TEXT_COMMANDS = ("subtask", "vqa", "autosteer")  # lerobot's, for policies with a text head


class StrategyRun(PhasePlan, Protocol):
    episode: int  # the index its next episode would have (core.strategies' plans)


class InteractivePlan:
    """Phases of an interactive rollout: "waiting" (the arm holds) until a start, then the
    strategy's own plan, made anew by `make_plan(first_episode)` for each start."""

    target = 0  # no episode count: the operator ends the session

    def __init__(self, make_plan: Callable[[int], StrategyRun], first_episode: int):
        self.make_plan = make_plan
        self.episode = first_episode
        self.run: StrategyRun | None = None  # the strategy's plan while a start runs
        self._resetting = False
        self._stopped = False

    def next(self) -> Phase | None:
        if self._stopped:
            return None
        if self._resetting:
            return Phase("returning", self.episode, RETURN_S, False, False)
        if self.run is not None:
            phase = self.run.next()
            if phase is not None:
                return phase
            self._run_over()  # the run's --duration is spent: hold until the next start
        return Phase("waiting", self.episode, WAIT_S, False, False)

    def end(self, phase: Phase, result: PhaseResult) -> Verdict:
        outcome = result.outcome
        ended = outcome in ("stop", "emergency_stop")
        if self.run is None:  # waiting, or returning to the start pose
            self._resetting = outcome == "reset" and phase.name == "waiting"
            self._stopped = ended
            if outcome == "start" and not ended:
                self.run = self.make_plan(self.episode)
            return "keep"
        if outcome == "reset":  # the episode in progress is kept, as at a stop
            result = PhaseResult("stop", result.frames, save_current=True)
        verdict = self.run.end(phase, result)
        if outcome == "reset" or ended:
            self._run_over()
            self._resetting = outcome == "reset"
            self._stopped = ended
        return verdict

    def removed(self) -> None:
        """Part of the plan protocol; the strategies run here never unsave an episode."""

    def _run_over(self) -> None:
        if self.run is not None:
            self.episode = self.run.episode
        self.run = None


class InteractiveCommands:
    """Reads `/command` lines from `stream` on a daemon thread, sends what they mean to the
    session with `send`, and answers on `out`. `phase(name)` tells it the session's phase."""

    def __init__(self, stream: TextIO, send: Callable[[m.Command], None], out: TextIO):
        self.stream = stream
        self.send = send
        self.out = out
        self._lock = threading.Lock()
        self._running = False  # a start is running (not waiting, not returning)
        self._thread = threading.Thread(target=self._read, name="interactive", daemon=True)

    def start(self) -> None:
        self.say(banner())
        self._thread.start()

    def phase(self, name: str) -> None:
        with self._lock:
            self._running = name not in ("waiting", "returning")

    def say(self, text: str) -> None:
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def _read(self) -> None:
        try:
            for line in self.stream:
                self.handle(line)
        except (OSError, ValueError) as error:  # the stream went away under us
            log.warning("--interactive: reading stdin failed: %s", error)
        self.say("Input stream closed — stopping the session.")
        self.send(m.Stop(save_current=True))

    def handle(self, line: str) -> None:
        line = line.strip()
        if not line:
            return
        name = line.split(maxsplit=1)[0][1:].lower() if line.startswith("/") else ""
        if not name:
            self.say("Not a command — commands start with '/'. Type /help for the list.")
        elif name == "start":
            with self._lock:
                running, self._running = self._running, True
            if running:
                self.say("Already running — /reset to pause first, or /stop to shut down.")
            else:
                self.send(m.StrategyKey("start"))
        elif name == "reset":
            with self._lock:
                self._running = False
            self.send(m.StrategyKey("reset"))
        elif name == "stop":
            self.send(m.Stop(save_current=True))
        elif name == "help":
            self.say(help_text())
        elif name in TEXT_COMMANDS:
            self.say(f"/{name}: this policy has no text head (ACT takes no instruction)")
        else:
            self.say(f"Unknown command '/{name}'. Type /help for the list.")


def help_text() -> str:
    width = max(len(name) for name in COMMANDS) + 1
    lines = [f"  /{name:<{width}}  {what}" for name, what in COMMANDS.items()]
    return "Commands:\n" + "\n".join(lines)


def banner() -> str:
    return (
        "Interactive rollout — the arm will NOT move until you type /start.\n"
        + help_text()
        + "\nThe end of the input stops the session: keep stdin open while the arm should run."
    )
