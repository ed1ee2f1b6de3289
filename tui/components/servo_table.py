"""The servo table: one keyed row per motor; only the cells whose text changed are updated."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from core.messages import ServoRow

COLUMNS = (
    ("name", "motor"), ("position", "pos"), ("goal", "goal"), ("load", "load%"),
    ("temperature", "°C"), ("voltage", "V"), ("current", "mA"),
)
WIDTHS = {"name": 15, "position": 6, "goal": 6, "load": 5, "temperature": 3, "voltage": 4,
          "current": 4}  # fixed, so the table never jumps as values change
FORMATS = {"position": "{:.1f}", "goal": "{:.1f}", "load": "{:.0f}", "temperature": "{:.0f}",
           "voltage": "{:.1f}", "current": "{:.0f}"}
MARKS = {"ok": "  ", "warn": "▲ ", "fault": "✖ ", "silent": "… "}
STYLES = {"ok": ("servo-ok", ""), "warn": ("servo-warn", ""), "fault": ("servo-fault", "bold"),
          "silent": ("servo-silent", "italic")}


def cell_texts(row: ServoRow) -> tuple[str, ...]:
    """The text of each cell of a motor's row ('—' where the servo gave no value)."""
    values = [MARKS.get(row.status, "? ") + row.name]
    for key, _ in COLUMNS[1:]:
        value = getattr(row, key)
        values.append("—" if value is None else FORMATS[key].format(value))
    return tuple(values)


class ServoTable(DataTable):
    """Position, goal, load, temperature, voltage and current per motor, styled by status."""

    DEFAULT_CSS = """
    ServoTable { height: auto; max-height: 100%; background: $surface; }
    """

    def __init__(self, **kwargs):
        super().__init__(cursor_type="none", zebra_stripes=False, show_cursor=False, **kwargs)
        self.can_focus = False  # the arrow keys belong to the session, not to scrolling
        self._shown: dict[str, tuple[tuple[str, ...], str]] = {}
        self.cell_updates = 0  # cells written since mount (tests check that unchanged ones aren't)

        for key, label in COLUMNS:
            header = Text(label, justify="left" if key == "name" else "right")
            self.add_column(header, key=key, width=WIDTHS[key])

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._restyle, init=False)

    def show(self, servos: tuple[ServoRow, ...]) -> None:
        for row in servos:
            texts = cell_texts(row)
            shown = self._shown.get(row.name)
            if shown is None:
                self.add_row(*self._styled(texts, row.status), key=row.name)
                self.cell_updates += len(texts)
            elif shown[1] != row.status:
                for (key, _), text in zip(COLUMNS, self._styled(texts, row.status)):
                    self.update_cell(row.name, key, text)
                self.cell_updates += len(texts)
            else:
                for (key, _), old, new, text in zip(
                    COLUMNS, shown[0], texts, self._styled(texts, row.status)
                ):
                    if old != new:
                        self.update_cell(row.name, key, text)
                        self.cell_updates += 1
            self._shown[row.name] = (texts, row.status)
        for name in set(self._shown) - {row.name for row in servos}:
            self.remove_row(name)
            del self._shown[name]

    def _styled(self, texts: tuple[str, ...], status: str) -> list[Text]:
        variable, extra = STYLES.get(status, STYLES["fault"])
        colour = self.app.theme_variables.get(variable, "")
        style = f"{colour} {extra}".strip()
        return [Text(t, style=style, justify="left" if i == 0 else "right")
                for i, t in enumerate(texts)]

    def _restyle(self) -> None:
        self.app.call_after_refresh(self._restyle_now)

    def _restyle_now(self) -> None:
        for name, (texts, status) in self._shown.items():
            for (key, _), text in zip(COLUMNS, self._styled(texts, status)):
                self.update_cell(name, key, text)
