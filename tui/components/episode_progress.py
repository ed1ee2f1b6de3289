"""Episode progress: phase, episode n of N, the phase's time bar, frames, saves, encoder backlog."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from core.messages import Telemetry

PHASES = ("connecting", "recording", "reset", "saving", "paused", "done")


def time_bar(elapsed: float, duration: float, width: int) -> str:
    if duration <= 0 or width <= 0:
        return ""
    filled = min(width, int(round(width * min(1.0, elapsed / duration))))
    return "█" * filled + "░" * (width - filled)


class EpisodeProgress(Horizontal):
    """One line: phase badge, episode counter, time bar and counters."""

    DEFAULT_CSS = """
    EpisodeProgress { height: 1; }
    EpisodeProgress #phase { width: 12; text-style: bold; content-align: center middle; }
    EpisodeProgress #phase.-recording { background: $recording; color: $background; }
    EpisodeProgress #phase.-reset { background: $reset; color: $background; }
    EpisodeProgress #phase.-saving { background: $saving; color: $background; }
    EpisodeProgress #phase.-paused { background: $paused; color: $background; }
    EpisodeProgress #phase.-done { background: $done; color: $background; }
    EpisodeProgress #phase.-connecting { background: $panel; }
    EpisodeProgress #episode { width: auto; padding: 0 1; text-style: bold; }
    EpisodeProgress #bar { width: 1fr; color: $primary; }
    EpisodeProgress #counters { width: auto; padding: 0 1; }
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._state: tuple | None = None

    def compose(self) -> ComposeResult:
        yield Static("connecting", id="phase", classes="-connecting")
        yield Static("", id="episode")
        yield Static("", id="bar")
        yield Static("", id="counters")

    def show(self, t: Telemetry) -> None:
        phase = "paused" if t.paused else t.phase
        bar_width = max(0, self.query_one("#bar").size.width - 12)
        state = (phase, t.episode_index, t.num_episodes, round(t.phase_elapsed_s, 1),
                 t.phase_duration_s, t.frame_index, t.episodes_saved, t.encoder_backlog, bar_width)
        if state == self._state:
            return
        self._state = state
        badge = self.query_one("#phase", Static)
        badge.update(phase.upper() if phase in PHASES[1:] else phase)
        badge.set_classes(f"-{phase}")
        shown = min(t.episode_index + 1, t.num_episodes) if t.num_episodes else 0
        self.query_one("#episode", Static).update(f"episode {shown}/{t.num_episodes}")
        clock = f" {t.phase_elapsed_s:4.1f}/{t.phase_duration_s:.0f}s" if t.phase_duration_s else ""
        self.query_one("#bar", Static).update(
            time_bar(t.phase_elapsed_s, t.phase_duration_s, bar_width) + clock
        )
        backlog = f"[$servo-warn]{t.encoder_backlog}[/]" if t.encoder_backlog > 8 else str(
            t.encoder_backlog)
        self.query_one("#counters", Static).update(
            f"frames {t.frame_index}  saved {t.episodes_saved}  enc {backlog}"
        )
