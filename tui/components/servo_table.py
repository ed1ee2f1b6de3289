"""The servo table: one keyed row per motor; only the cells whose text changed are rebuilt and
only their lines redrawn.

A small line-API widget rather than a DataTable: the table's rows change at every refresh (the
arm moves), and a DataTable re-renders whole lines through its cell formatter each time (it was
the largest item of the console's render time in a profile).
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from core.messages import ServoRow

COLUMNS = (
    ("name", "motor"), ("position", "pos"), ("goal", "goal"), ("load", "load%"),
    ("temperature", "°C"), ("voltage", "V"), ("current", "mA"),
)  # fmt: skip
WIDTHS = {"name": 15, "position": 6, "goal": 6, "load": 5, "temperature": 3, "voltage": 4,
          "current": 4}  # fmt: skip  # fixed, so the table never jumps as values change
FORMATS = {"position": "{:.1f}", "goal": "{:.1f}", "load": "{:.0f}", "temperature": "{:.0f}",
           "voltage": "{:.1f}", "current": "{:.0f}"}  # fmt: skip
MARKS = {"ok": "  ", "warn": "▲ ", "fault": "✖ ", "silent": "… "}
STYLES = {"ok": ("servo-ok", ""), "warn": ("servo-warn", ""), "fault": ("servo-fault", "bold"),
          "silent": ("servo-silent", "italic")}  # fmt: skip


def cell_texts(row: ServoRow) -> tuple[str, ...]:
    """The text of each cell of a motor's row ('—' where the servo gave no value)."""
    values = [MARKS.get(row.status, "? ") + row.name]
    for key, _ in COLUMNS[1:]:
        value = getattr(row, key)
        values.append("—" if value is None else FORMATS[key].format(value))
    return tuple(values)


def _pad(key: str, text: str) -> str:
    width = WIDTHS[key]
    text = text[:width]
    return f" {text:<{width}} " if key == "name" else f" {text:>{width}} "


class ServoTable(Widget):
    """Position, goal, load, temperature, voltage and current per motor, styled by status."""

    DEFAULT_CSS = """
    ServoTable { height: auto; background: $surface; }
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._order: list[str] = []
        self._shown: dict[str, tuple[tuple[str, ...], str]] = {}
        self._cells: dict[str, list[Segment]] = {}  # motor -> one segment per column
        self._header: list[Segment] = []
        self.cell_updates = 0  # cells rebuilt since mount (tests check that unchanged ones aren't)

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._restyle, init=False)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1 + len(self._order)

    def show(self, servos: tuple[ServoRow, ...]) -> None:
        names = [row.name for row in servos]
        relayout = names != self._order
        dirty: list[int] = []
        for y, row in enumerate(servos, start=1):
            texts = cell_texts(row)
            shown = self._shown.get(row.name)
            if shown is None or shown[1] != row.status:
                self._cells[row.name] = self._styled(texts, row.status)
                self.cell_updates += len(texts)
                dirty.append(y)
            else:
                changed = [i for i, (old, new) in enumerate(zip(shown[0], texts, strict=True))
                           if old != new]  # fmt: skip
                if changed:
                    style = self._style(row.status)
                    for i in changed:
                        self._cells[row.name][i] = Segment(_pad(COLUMNS[i][0], texts[i]), style)
                    self.cell_updates += len(changed)
                    dirty.append(y)
            self._shown[row.name] = (texts, row.status)
        for gone in set(self._shown) - set(names):
            del self._shown[gone], self._cells[gone]
        self._order = names
        if relayout:
            self.refresh(layout=True)
        else:
            width = self.size.width
            self.refresh(*(Region(0, y, width, 1) for y in dirty))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            if not self._header:
                self._header = self._header_segments()
            return Strip(self._header).adjust_cell_length(width)
        if y - 1 < len(self._order):
            return Strip(self._cells[self._order[y - 1]]).adjust_cell_length(width)
        return Strip.blank(width)

    def _style(self, status: str) -> Style:
        variable, extra = STYLES.get(status, STYLES["fault"])
        colour = self.app.theme_variables.get(variable, "")
        return Style.parse(f"{extra} {colour}".strip() or "none")

    def _styled(self, texts: tuple[str, ...], status: str) -> list[Segment]:
        style = self._style(status)
        return [Segment(_pad(key, text), style) for (key, _), text in
                zip(COLUMNS, texts, strict=True)]  # fmt: skip

    def _header_segments(self) -> list[Segment]:
        variables = self.app.theme_variables
        style = Style.parse(f"bold {variables.get('foreground', '')} on {variables['panel']}")
        return [Segment(_pad(key, label), style) for key, label in COLUMNS]

    def _restyle(self) -> None:
        self.call_after_refresh(self._restyle_now)

    def _restyle_now(self) -> None:
        self._header = []
        for name, (texts, status) in self._shown.items():
            self._cells[name] = self._styled(texts, status)
        self.refresh()
