"""The key bar: the keys that work now (the screen's active bindings), on one line that is
never cut: when the terminal is too narrow, the convenience keys (Theme, then Help) go first and
the labels shorten, so the keys that act on the arm always show whole."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

DROPPABLE = ("cycle_theme", "help")  # dropped in this order when the line is too long
SHORT = {"Re-record": "Redo", "New session": "New", "Resume": "Resume"}


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar { height: 1; background: $panel; color: $foreground; text-wrap: nowrap; }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._rebuild)
        self.watch(self.app, "theme", self._rebuild, init=False)
        self._rebuild()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def on_resize(self) -> None:
        self._rebuild()

    def keys(self) -> list[tuple[str, str, str]]:
        """(action, key as shown, description) of every key the bar offers now, in order."""
        seen: set[str] = set()
        keys = []
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not binding.show or not active.enabled or binding.action in seen:
                continue
            seen.add(binding.action)
            keys.append((binding.action, self.app.get_key_display(binding), binding.description))
        return keys

    def _rebuild(self, *_args) -> None:
        keys = self.keys()
        width = self.size.width or 80
        text = Text()
        for short, dropped in ((False, 0), (False, 1), (True, 1), (True, 2)):
            shown = [k for k in keys if k[0] not in DROPPABLE[:dropped]]
            text = self._line(shown, short)
            if text.cell_len <= width:
                break
        self.update(text)

    def _line(self, keys: list[tuple[str, str, str]], short: bool) -> Text:
        accent = self.app.theme_variables.get("accent", "") or "bold"
        line = Text(" ")
        for _, key, description in keys:
            line.append(key, style=f"bold {accent}")
            line.append(f" {SHORT.get(description, description) if short else description}  ")
        line.rstrip()
        return line
