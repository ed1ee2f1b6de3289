"""The policy panel: where the action came from, its vector, inference timings, output stats."""

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


def describe(t: Telemetry) -> str:
    """The panel's content markup (theme variables for colours)."""
    source = t.action_source
    lines = [f"[bold $source-{source}]{source.upper()}[/]  [dim]task[/] {_escape(t.task) or '—'}"]
    if t.policy:
        p = t.policy
        forward = f"{p.forward_ms:.1f}" if p.forward_ms is not None else "—"
        lines.append(
            f"[dim]infer[/] {p.inference_ms:.1f} ms  [dim]fwd[/] {forward} ms  "
            f"[dim]queue[/] {p.queue_size}"
        )
        lines.append(
            f"[dim]out[/] μ {p.output.mean:+.2f} σ {p.output.std:.2f} "
            f"[{p.output.min:+.2f}, {p.output.max:+.2f}]".replace("[+", "\\[+").replace(
                "[-", "\\[-"
            )
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
    PolicyPanel { height: 100%; padding: 0 1; background: $surface; }
    """

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self._text = ""

    def show(self, t: Telemetry) -> None:
        text = describe(t)
        if text != self._text:
            self._text = text
            self.update(text)
