"""Timing: sparklines of loop period, lateness, the policy's wait and camera age, with counters."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Sparkline, Static

from core.messages import Timing

SERIES = (
    ("period_ms", "period"),
    ("lateness_ms", "late"),
    ("inference_ms", "pol wait"),
    ("camera_age_ms", "cam age"),
)


class TimingPanel(Vertical):
    DEFAULT_CSS = """
    TimingPanel { height: auto; background: $surface; padding: 0 0 0 1;
                  border: round $secondary;
                  border-title-color: $foreground; border-title-style: bold; }
    TimingPanel Horizontal { height: 1; }
    TimingPanel .label { width: 9; color: $text-muted; }
    TimingPanel .value { width: 9; text-align: right; padding-right: 1; }
    TimingPanel Sparkline { width: 1fr; height: 1; }
    TimingPanel Sparkline > .sparkline--min-color { color: $spark-low; }
    TimingPanel Sparkline > .sparkline--max-color { color: $spark-high; }
    TimingPanel #counters { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._shown: dict[str, tuple] = {}
        self.border_title = "timing"

    def compose(self) -> ComposeResult:
        yield Static("", id="counters")
        for key, label in SERIES:
            with Horizontal():
                yield Static(label, classes="label")
                yield Sparkline([], id=f"spark-{key}")
                yield Static("", id=f"value-{key}", classes="value")

    def show(self, timing: Timing) -> None:
        if timing.priority and self._shown.get("priority") != timing.priority:
            self._shown["priority"] = timing.priority
            self.border_subtitle = f"control {timing.priority}"
        counters = (timing.achieved_hz, timing.missed_deadlines, timing.dropped_frames)
        if self._shown.get("counters") != counters:
            self._shown["counters"] = counters
            missed = (
                f"[$servo-fault]{timing.missed_deadlines}[/]" if timing.missed_deadlines else "0"
            )
            dropped = f"[$servo-fault]{timing.dropped_frames}[/]" if timing.dropped_frames else "0"
            self.query_one("#counters", Static).update(
                f"[bold]{timing.achieved_hz:.1f} Hz[/]  missed {missed}  dropped {dropped}"
            )
        for key, _ in SERIES:
            data = getattr(timing, key)
            if self._shown.get(key) == data:
                continue
            self._shown[key] = data
            self.query_one(f"#spark-{key}", Sparkline).data = list(data)
            last = f"{data[-1]:.1f} ms" if data else "—"
            self.query_one(f"#value-{key}", Static).update(last)
