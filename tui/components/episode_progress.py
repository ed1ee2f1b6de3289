"""The header: phase badge, episode, the phase's time bar and clock, and the counters.

Episodes are numbered as in the dataset (lerobot's `episode_index`, from 0) everywhere in the
console, the headless output and the logs; the header adds the human count ("2 of 3").
What the header shows depends on the phase: frames only while frames are recorded, the clock
only while a phase runs, the final saved count once the session is over.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from core.messages import Telemetry

BADGES = {
    "connecting": "connecting",
    "recording": "● RECORDING",
    "reset": "RESET",
    "paused": "PAUSED",
    "saving": "SAVING",
    "ended": "ENDED",
    "e-stopped": "E-STOPPED",
    "failed": "FAILED",
    # lerecord rollout's strategies (core.strategies, core.interactive)
    "running": "▶ POLICY",
    "buffering": "▶ BUFFERING",
    "handover": "HAND-OVER",
    "correction": "✋ CORRECTION",
    "returning": "RETURNING",
    "waiting": "WAITING",
}
OVER = ("ended", "e-stopped", "failed")  # the session is over: nothing runs any more
TIMED = ("recording", "reset", "paused")  # a phase clock runs (or is held)


def time_bar(elapsed: float, duration: float, width: int) -> str:
    if duration <= 0 or width <= 0:
        return ""
    filled = min(width, int(round(width * min(1.0, elapsed / duration))))
    return "█" * filled + "░" * (width - filled)


def episode_text(t: Telemetry, phase: str) -> str:
    """'ep 1 · 2 of 3': the dataset's index of the episode and the human count."""
    if not t.num_episodes or phase == "connecting":
        return ""
    if phase in OVER or phase == "saving":
        return f"of {t.num_episodes} planned"
    count = min(t.episode_index + 1, t.num_episodes)
    next_one = "next " if phase == "reset" else ""
    return f"{next_one}ep {t.episode_index} · {count} of {t.num_episodes}"


def counters_text(t: Telemetry, phase: str, compact: bool) -> str:
    saved = f"saved {t.episodes_saved}"
    if phase in OVER or phase == "connecting":
        return saved
    backlog = (
        f"[$servo-warn]{t.encoder_backlog}[/]" if t.encoder_backlog > 8 else str(t.encoder_backlog)
    )
    parts = [f"frames {t.frame_index}"] if phase == "recording" else []
    parts.append(saved)
    if not compact:
        parts.append(f"enc {backlog}")
    return "  ".join(parts)


class EpisodeProgress(Horizontal):
    """One line: phase badge, episode counter, time bar, clock and counters."""

    DEFAULT_CSS = """
    EpisodeProgress { height: 1; background: $panel; }
    EpisodeProgress #phase { width: 13; text-style: bold; content-align: center middle; }
    EpisodeProgress #phase.-recording { background: $recording; color: $background; }
    EpisodeProgress #phase.-reset { background: $reset; color: $background; }
    EpisodeProgress #phase.-correction { background: $recording; color: $background; }
    EpisodeProgress #phase.-saving { background: $saving; color: $background; }
    EpisodeProgress #phase.-paused { background: $paused; color: $background; }
    EpisodeProgress #phase.-ended { background: $done; color: $background; }
    EpisodeProgress #phase.-e-stopped { background: $servo-fault; color: $background; }
    EpisodeProgress #phase.-failed { background: $servo-fault; color: $background;
                                     text-style: bold reverse; }
    EpisodeProgress #phase.-connecting { background: $surface; }
    EpisodeProgress #episode { width: auto; padding: 0 1; text-style: bold; text-wrap: nowrap; }
    EpisodeProgress #bar { width: 1fr; color: $primary; text-wrap: nowrap; }
    EpisodeProgress #clock { width: auto; padding: 0 0 0 1; text-wrap: nowrap; }
    EpisodeProgress #counters { width: auto; padding: 0 1; text-wrap: nowrap; }
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._state: tuple | None = None

    def compose(self) -> ComposeResult:
        yield Static(BADGES["connecting"], id="phase", classes="-connecting")
        yield Static("", id="episode")
        yield Static("", id="bar")
        yield Static("", id="clock")
        yield Static("", id="counters")

    def show(self, t: Telemetry) -> None:
        """Draw `t` (whose `phase` the app has already turned into what the user must see)."""
        phase = t.phase
        compact = self.size.width < 90
        bar_width = self.query_one("#bar").size.width
        elapsed = round(t.phase_elapsed_s, 1)
        state = (phase, t.episode_index, t.num_episodes, elapsed, t.phase_duration_s,
                 t.frame_index, t.episodes_saved, t.encoder_backlog, bar_width,
                 compact)  # fmt: skip
        if state == self._state:
            return
        self._state = state
        badge = self.query_one("#phase", Static)
        badge.update(BADGES.get(phase, phase))
        badge.set_classes(f"-{phase}")
        self.query_one("#episode", Static).update(episode_text(t, phase))
        timed = phase in TIMED and t.phase_duration_s > 0
        clock = f"{t.phase_elapsed_s:.1f}/{t.phase_duration_s:.0f}s" if timed else ""
        self.query_one("#clock", Static).update(clock)
        self.query_one("#bar", Static).update(
            time_bar(t.phase_elapsed_s, t.phase_duration_s, bar_width) if timed else ""
        )
        self.query_one("#counters", Static).update(counters_text(t, phase, compact))
