"""The event log: one line per engine event, newest at the bottom, time since session start."""

from __future__ import annotations

from textual.widgets import RichLog

from core import messages as m


def describe(event: m.Event) -> tuple[str, str]:
    """(theme variable for the line's colour, text) for one event."""
    if isinstance(event, m.SessionStarted):
        return (
            "primary",
            f"session started: {event.robot} → {event.repo_id} ({event.num_episodes} episodes)",
        )
    if isinstance(event, m.PhaseChanged):
        return event.phase if event.phase in (
            "recording",
            "reset",
            "saving",
            "paused",
            "done",
        ) else "foreground", f"{event.phase} (episode {event.episode_index + 1})"
    if isinstance(event, m.EpisodeStarted):
        return "recording", f"episode {event.episode_index + 1} started: {event.task}"
    if isinstance(event, m.EpisodeSaved):
        return (
            "done",
            f"episode {event.episode_index + 1} saved: {event.frames} frames "
            f"({event.save_s:.1f} s)",
        )
    if isinstance(event, m.EpisodeDiscarded):
        return (
            "servo-warn",
            f"episode {event.episode_index + 1} discarded ({event.reason}): {event.frames} frames",
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
            f"session ended ({event.reason}), {event.episodes_saved} episodes saved in "
            f"{event.dataset_root}{extra}"
            + (f". Score: {event.score.summary()}" if event.score is not None else ""),
        )
    return "foreground", repr(event)


class EventLog(RichLog):
    DEFAULT_CSS = """
    EventLog { background: $surface; scrollbar-size-vertical: 1; overflow-x: hidden; }
    """

    def __init__(self, **kwargs):
        super().__init__(max_lines=1000, wrap=False, markup=False, **kwargs)
        self.can_focus = False
        self.lines_written: list[str] = []

    def add(self, event: m.Event) -> None:
        variable, text = describe(event)
        self.note(f"{event.at:7.1f}s  {text}", variable)

    def note(self, text: str, variable: str = "foreground") -> None:
        from rich.text import Text

        colour = self.app.theme_variables.get(variable, "")
        self.lines_written.append(text)
        self.write(Text(text, style=colour))
