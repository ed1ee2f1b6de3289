"""The policy panel: where the action came from, where the model runs, its timings (forward time
of the chunk behind the action, the time the step waited for it), actions queued, chunks received
and steps held on a dry queue in this episode, the output's statistics in words, and the action
vector."""

from __future__ import annotations

from textual.widgets import Static

from core.messages import Telemetry

SHORT = {
    "shoulder_pan": "pan",
    "shoulder_lift": "lift",
    "elbow_flex": "elbow",
    "wrist_flex": "wflex",
    "wrist_roll": "wroll",
    "gripper": "grip",
}


def short_name(key: str) -> str:
    name = key.removesuffix(".pos")
    return SHORT.get(name, name)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} ms"


def describe(t: Telemetry) -> str:
    """The panel's content markup (theme variables for colours)."""
    source = t.action_source
    lines = [f"[bold $source-{source}]{source.upper()}[/]  [dim]task[/] {_escape(t.task) or '—'}"]
    if t.policy:
        p = t.policy
        lines.append(
            f"[dim]forward[/] {_ms(p.chunk_forward_ms)} [dim](last chunk)[/]  "
            f"[dim]step waited[/] {_ms(p.inference_ms)}"
        )
        lines.append(
            f"[dim]queue[/] {p.queue_size}  [dim]chunks[/] {p.chunks}  "
            f"[dim]held[/] {p.starvations} steps  [dim]runs on[/] {_escape(p.where)}"
            if p.link_error is None
            else f"[bold $servo-fault]policy unreachable:[/] {_escape(p.link_error)}"
        )
        lines.append(
            f"[dim]output mean[/] {p.output.mean:+.2f} [dim]std[/] {p.output.std:.2f} "
            f"[dim]min[/] {p.output.min:+.2f} [dim]max[/] {p.output.max:+.2f}"
        )
    else:
        lines.append(
            "[dim]no policy: actions from the teleoperator[/]"
            if source == "teleop"
            else "[dim]no policy loaded[/]"
        )
    vector = "  ".join(f"[dim]{short_name(k)}[/] {v:+.1f}" for k, v in t.action)
    lines.append(vector or "[dim]no action yet[/]")
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("[", "\\[")


class PolicyPanel(Static):
    DEFAULT_CSS = """
    PolicyPanel { height: auto; padding: 0 1; background: $surface; border: round $secondary;
                  border-title-color: $foreground; border-title-style: bold;
                  text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self._text = ""
        self.border_title = "action"

    def show(self, t: Telemetry) -> None:
        text = describe(t)
        if text != self._text:
            self._text = text
            self.update(text)
            self.border_title = f"policy · {t.policy.where}" if t.policy else "action"
