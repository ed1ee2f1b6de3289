"""The session's score on one line: successes, failures, not marked, the success rate with its
95 % Wilson interval, and the outcome prompt when the reset waits for an answer. Hidden until an
episode is marked or an outcome is asked for."""

from __future__ import annotations

from textual.widgets import Static

from core.console import OUTCOME_KEYS
from core.messages import Telemetry
from core.score import Score


def tally_text(score: Score, awaiting: bool, keys: tuple[str, str]) -> str:
    parts = [
        f"[$success]✔ {score.successes}[/]",
        f"[$error]✖ {score.failures}[/]",
        f"? {score.unmarked}",
    ]
    interval = score.interval()
    if interval is not None:
        lo, hi = interval
        parts.append(f"[b]{score.rate:.0%}[/b] success (95% CI {lo * 100:.0f}–{hi:.0%})")
    if awaiting:
        parts.append(f"[reverse] success or failure? {keys[0]} / {keys[1]} [/reverse]")
    return "  ".join(parts)


class ScoreTally(Static):
    DEFAULT_CSS = """
    ScoreTally { height: 1; padding: 0 1; display: none; }
    ScoreTally.-shown { display: block; }
    """

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self._state: tuple | None = None

    def show(self, t: Telemetry) -> None:
        state = (t.score, t.awaiting_outcome)
        if state == self._state:
            return
        self._state = state
        shown = t.score.marked > 0 or t.awaiting_outcome
        self.set_class(shown, "-shown")
        if shown:
            remapped = self.app.keys  # the profile's [keys] table (ConsoleApp)
            keys = tuple(
                remapped.get(f"mark-{outcome}", OUTCOME_KEYS[outcome])
                for outcome in ("success", "failure")
            )
            self.update(tally_text(t.score, t.awaiting_outcome, keys))
