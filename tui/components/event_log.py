"""The event log: one line per engine event, newest at the bottom, time since session start."""

from __future__ import annotations

from textual.widgets import RichLog

from core import messages as m
from core.console import episodes

PHASE_COLOURS = ("recording", "reset", "saving", "paused", "done")


def describe(event: m.Event) -> tuple[str, str]:
    """(theme variable for the line's colour, text) for one event. Episodes are numbered as in
    the dataset (from 0), as everywhere else."""
    if isinstance(event, m.SessionStarted):
        policy = f"; policy {event.policy}" if event.policy else ""
        threads = f"; threads: {event.threads}" if event.threads else ""
        threads += f"; control thread {event.control}" if event.control else ""
        return (
            "primary",
            f"session started: {event.robot} → {event.repo_id} ({episodes(event.num_episodes)})"
            f"{policy}{threads}",
        )
    if isinstance(event, m.PhaseChanged):
        colour = event.phase if event.phase in PHASE_COLOURS else "foreground"
        what = "next: episode" if event.phase == "reset" else "episode"
        return colour, f"{event.phase} ({what} {event.episode_index})"
    if isinstance(event, m.EpisodeStarted):
        return "recording", f"episode {event.episode_index} started: {event.task}"
    if isinstance(event, m.EpisodeSaved):
        return (
            "done",
            f"episode {event.episode_index} saved: {event.frames} frames ({event.save_s:.1f} s)",
        )
    if isinstance(event, m.EpisodeDiscarded):
        return (
            "servo-warn",
            f"episode {event.episode_index} discarded ({event.reason}): {event.frames} frames",
        )
    if isinstance(event, m.OutcomeAsked):
        return "primary", f"episode {event.episode_index + 1}: success or failure?"
    if isinstance(event, m.OutcomeMarked):
        return (
            "success" if event.outcome == "success" else "error",
            f"episode {event.episode_index + 1}: {event.outcome}. {event.score.summary()}",
        )
    if isinstance(event, m.DeviceFault):
        state = "recovered" if event.recovered else "FAULT"
        return (
            "servo-warn" if event.recovered else "servo-fault",
            f"{state} {event.device}: {event.message}",
        )
    if isinstance(event, m.WarningRaised):
        return "servo-warn", f"warning: {event.message}"
    if isinstance(event, m.UploadFinished):
        return "done", f"uploaded: {event.url}"
    if isinstance(event, m.UploadFailed):
        return "servo-fault", f"upload failed: {event.message}"
    if isinstance(event, m.SessionEnded):
        extra = f": {event.error}" if event.error else ""
        return (
            "done" if event.reason == "completed" else "servo-warn",
            f"session ended ({event.reason}), {episodes(event.episodes_saved)} saved in "
            f"{event.dataset_root}{extra}"
            + (f". Score: {event.score.summary()}" if event.score is not None else ""),
        )
    return "foreground", repr(event)


class EventLog(RichLog):
    DEFAULT_CSS = """
    EventLog { background: $surface; scrollbar-size-vertical: 1; overflow-x: hidden;
               border: round $secondary; border-title-color: $foreground;
               border-title-style: bold; }
    """

    def __init__(self, **kwargs):
        super().__init__(max_lines=1000, wrap=False, markup=False, **kwargs)
        self.can_focus = False
        self.lines_written: list[str] = []
        self._coloured: list[tuple[str, str]] = []  # (text, theme variable), to redraw
        self._phase = ""
        self.border_title = "events"

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._recolour, init=False)

    def _recolour(self) -> None:
        """A new theme: every line again, in the new theme's colours."""
        self.clear()
        for text, variable in self._coloured[-1000:]:
            self._write(text, variable)

    def add(self, event: m.Event) -> None:
        variable, text = describe(event)
        if isinstance(event, m.PhaseChanged):
            if self._phase == "paused" and event.phase != "paused":
                text = f"resumed ({event.phase}, episode {event.episode_index})"
            self._phase = event.phase
        self.note(f"{event.at:7.1f}s  {text}", variable)

    def note(self, text: str, variable: str = "foreground") -> None:
        self.lines_written.append(text)
        self._coloured.append((text, variable))
        self._write(text, variable)

    def _write(self, text: str, variable: str) -> None:
        from rich.text import Text

        colour = self.app.theme_variables.get(variable, "")
        self.write(Text(text, style=colour))
