"""The help screen: every key of the console as currently bound (remaps included)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.screens.dialog import dialog_css

EXPLANATIONS = {
    "exit-early": "end the phase now: save the episode, or skip the rest of the reset",
    "rerecord": "discard the episode in progress (or the one just saved) and record it again",
    "stop": "end the session; mid-episode, asks whether to save the episode first",
    "pause": "hold the arm where it is; the phase clock stops, no frames are recorded",
    "emergency-stop": "cut motor torque at once, discard the episode, end the session",
    "help": "this screen",
    "theme": "switch to the next colour theme",
    "wizard": "open the session wizard (set up the next session)",
    "highlight-save": "highlight: save the last seconds, record on; again ends the highlight",
    "push": "push the dataset to the Hub now (highlight, dagger)",
    "take-over": "dagger: the human takes the arm (it first slides to the leader's pose)",
    "give-back": "dagger: the policy drives again; the correction is saved as an episode",
    "start": "rollout --interactive: start the policy (lerobot's /start)",
    "reset": "rollout --interactive: end the run, slide back to the start pose (/reset)",
}


def key_label(keys: str) -> str:
    names = {
        "right": "→",
        "left": "←",
        "escape": "Esc",
        "space": "Space",
        "exclamation_mark": "!",
        "question_mark": "?",
    }
    return " / ".join(names.get(k.strip(), k.strip()) for k in keys.split(","))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help-close")]
    DEFAULT_CSS = dialog_css(
        "HelpScreen",
        76,
        "round $primary",
        box="VerticalScroll",
        extra="""HelpScreen > VerticalScroll { border-title-color: $primary;
        border-title-style: bold; border-subtitle-color: $foreground; }""",
    )

    def __init__(
        self,
        bindings: list[tuple[str, Binding]],
        forward_keys: bool,
        teleop_keys: list[tuple[str, str]] | None = None,
    ):
        super().__init__()
        self.rows = bindings
        self.forward_keys = forward_keys
        self.teleop_keys = teleop_keys or []

    def compose(self) -> ComposeResult:
        lines = []
        for keys, binding in self.rows:
            why = EXPLANATIONS.get(binding.id or "", binding.description)
            lines.append(f"[bold $accent]{key_label(keys):<14}[/] {why}")
        if self.teleop_keys:
            lines.append("\nKeyboard teleoperator (hold a key to move):")
            pairs = (f"[bold $accent]{k}[/] {what}" for k, what in self.teleop_keys)
            lines.append("  " + ", ".join(pairs))
        elif self.forward_keys:
            lines.append("\nOther keys go to the keyboard teleoperator.")
        lines.append(
            "\n[dim]Keys can be remapped in the profile's \\[keys] table, "
            'e.g. stop = "escape,x".[/]'
        )
        with VerticalScroll() as box:
            # the border carries the title and how to close, so even a cut box shows both
            box.border_title = "lerecord keys (now)"
            box.border_subtitle = "Esc / ? closes this screen"
            yield Static("\n".join(lines))
