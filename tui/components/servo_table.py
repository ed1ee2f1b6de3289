"""The servo table: one keyed row per motor; only the cells whose text changed are rebuilt and
only their lines redrawn.

Each joint's position is drawn as a bar inside its calibrated range (the calibration file's
range_min..range_max in the joint's units, which the engine sends; where a robot gives none,
-100..100, the gripper 0..100, degrees beyond ±100 against ±180), load and temperature are
coloured against the limits the engine warns at, and once torque is off every row is greyed and
the title says so.
Narrow tables drop columns (volts first, then current, goal, the bar), never overlap; names too
long for their column keep their head and tail (`arm…der_lift`), so no two look the same.

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
from core.telemetry import LOAD_WARN, TEMPERATURE_FAULT_C, TEMPERATURE_WARN_C

COLUMNS = (
    ("name", "motor"), ("position", "pos"), ("bar", "range"), ("goal", "goal"),
    ("load", "load%"), ("temperature", "°C"), ("voltage", "V"), ("current", "mA"),
)  # fmt: skip
WIDTHS = {"position": 6, "goal": 6, "load": 5, "temperature": 3, "voltage": 4,
          "current": 4}  # fmt: skip  # fixed, so the table never jumps as values change
FORMATS = {"position": "{:.1f}", "goal": "{:.1f}", "load": "{:.0f}", "temperature": "{:.0f}",
           "voltage": "{:.1f}", "current": "{:.0f}"}  # fmt: skip
DROP_ORDER = ("voltage", "current", "goal", "bar", "temperature")  # first dropped first
BAR_WIDTH = (8, 24)  # the position bar's narrowest and widest
NAME_WIDTH = (8, 20)
MARKS = {"ok": "  ", "warn": "▲ ", "fault": "✖ ", "silent": "… "}
STATUS_COLOURS = {"ok": "servo-ok", "warn": "servo-warn", "fault": "servo-fault",
                  "silent": "servo-silent"}  # fmt: skip


def cell_texts(row: ServoRow) -> tuple[str, ...]:
    """The text of each value cell of a motor's row ('—' where the servo gave no value)."""
    values = []
    for key, _ in COLUMNS:
        if key in ("name", "bar"):
            continue
        value = getattr(row, key)
        values.append("—" if value is None else FORMATS[key].format(value))
    return tuple(values)


def short(name: str, width: int) -> str:
    """`name` in `width` characters: whole, or its head and tail around '…'."""
    if len(name) <= width:
        return name
    head = min(3, max(1, width // 4))
    return name[:head] + "…" + name[len(name) - (width - head - 1) :]


def position_range(row: ServoRow) -> tuple[float, float]:
    """The calibration's range of the joint; nominal ranges where the robot gives none."""
    if row.limits is not None and row.limits[1] > row.limits[0]:
        return row.limits
    if row.name.endswith("gripper"):
        return 0.0, 100.0
    if row.position is not None and abs(row.position) > 100:
        return -180.0, 180.0  # a joint in degrees
    return -100.0, 100.0


def bar(row: ServoRow, width: int) -> str:
    """The position as a marker inside the joint's range, the goal as a thin tick."""
    if row.position is None or width < 3:
        return "·" * width
    low, high = position_range(row)

    def cell(value: float) -> int:
        fraction = (min(high, max(low, value)) - low) / (high - low)
        return min(width - 1, int(fraction * width))

    cells = ["─"] * width
    if row.goal is not None:
        cells[cell(row.goal)] = "┊"
    cells[cell(row.position)] = "█"
    return "".join(cells)


def level(key: str, row: ServoRow) -> str:
    """The theme variable a load or temperature cell is drawn in, against its limits."""
    if key == "load" and row.load is not None:
        return "servo-fault" if abs(row.load) >= 100 else (
            "servo-warn" if abs(row.load) >= LOAD_WARN else "")  # fmt: skip
    if key == "temperature" and row.temperature is not None:
        if row.temperature >= TEMPERATURE_FAULT_C:
            return "servo-fault"
        return "servo-warn" if row.temperature >= TEMPERATURE_WARN_C else ""
    return ""


class ServoTable(Widget):
    """Position, goal, load, temperature, voltage and current per motor, styled by status."""

    DEFAULT_CSS = """
    ServoTable { height: auto; background: $surface; border: round $secondary;
                 border-title-color: $foreground; border-title-style: bold; }
    ServoTable.-torque-off { border: round $servo-silent; }
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._rows: dict[str, ServoRow] = {}
        self._order: list[str] = []
        self._shown: dict[str, tuple[str, ...]] = {}
        self.torque = ""  # none shown yet: the first `show` titles the table
        self.cell_updates = 0  # cells rebuilt since mount (tests check that unchanged ones aren't)
        self.border_title = "servos"

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._restyle, init=False)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1 + len(self._order)

    def show(self, servos: tuple[ServoRow, ...], torque: str = "unknown") -> None:
        names = [row.name for row in servos]
        relayout = names != self._order
        dirty: list[int] = []
        if torque != self.torque:
            self.torque = torque
            self.set_class(torque != "on", "-torque-off")
            self.border_title = {"on": "servos · torque on", "off": "servos · TORQUE OFF"}.get(
                torque, "servos · torque unknown"
            )
            relayout = True
        for y, row in enumerate(servos, start=1):
            texts = cell_texts(row)
            old = self._shown.get(row.name)
            previous = self._rows.get(row.name)
            if old is None or previous is None or previous.status != row.status:
                self.cell_updates += len(texts)
                dirty.append(y)
            else:
                changed = sum(a != b for a, b in zip(old, texts, strict=True))
                if changed or (previous.position, previous.goal) != (row.position, row.goal):
                    self.cell_updates += changed
                    dirty.append(y)
            self._shown[row.name] = texts
            self._rows[row.name] = row
        for gone in set(self._rows) - set(names):
            del self._rows[gone], self._shown[gone]
        self._order = names
        if relayout:
            self.refresh(layout=True)
        else:
            width = self.size.width
            self.refresh(*(Region(0, y, width, 1) for y in dirty))

    # ---- drawing

    def layout_for(self, width: int) -> tuple[list[str], int, int]:
        """(columns shown, name width, bar width) for a table `width` cells wide."""
        longest = max((len(n) for n in self._order), default=5) + 2  # + status mark
        name_w = min(NAME_WIDTH[1], max(NAME_WIDTH[0], longest))
        keys = [key for key, _ in COLUMNS]

        def needed(shown: list[str], bar_w: int) -> int:
            fixed = sum(WIDTHS[k] + 2 for k in shown if k in WIDTHS)
            return name_w + 2 + fixed + (bar_w + 2 if "bar" in shown else 0)

        for drop in (None, *DROP_ORDER):
            if drop is not None:
                keys.remove(drop)
            if needed(keys, BAR_WIDTH[0]) <= width:
                spare = width - needed(keys, BAR_WIDTH[0])
                return keys, name_w, min(BAR_WIDTH[1], BAR_WIDTH[0] + spare)
        name_w = max(NAME_WIDTH[0], width - needed(keys, 0) + name_w)
        return keys, name_w, 0

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        background = self._colour("surface")
        keys, name_w, bar_w = self.layout_for(width)
        if y == 0:
            style = Style.parse(f"bold {self._colour('foreground')} on {self._colour('panel')}")
            cells = [self._pad(key, label, name_w, bar_w) for key, label in COLUMNS if key in keys]
            return Strip([Segment("".join(cells), style)]).adjust_cell_length(width, style)
        base = Style.parse(f"on {background}")
        if y - 1 >= len(self._order):
            return Strip.blank(width, base)
        row = self._rows[self._order[y - 1]]
        return Strip(self._row_segments(row, keys, name_w, bar_w)).adjust_cell_length(width, base)

    def _row_segments(self, row: ServoRow, keys: list[str], name_w: int, bar_w: int):
        off = self.torque != "on"  # greyed: the values are the last ones read
        status = "silent" if off else row.status
        row_colour = STATUS_COLOURS.get(status, "servo-fault")
        values = dict(zip([k for k, _ in COLUMNS if k not in ("name", "bar")],
                          self._shown[row.name], strict=True))  # fmt: skip
        segments = []
        for key in keys:
            if key == "name":
                text = MARKS.get(row.status, "? ") + short(row.name, name_w - 2)
            elif key == "bar":
                text = bar(row, bar_w)
            else:
                text = values[key]
            colour = row_colour if off or key in ("name", "position") else (
                level(key, row) or row_colour)  # fmt: skip
            if key == "bar" and not off:
                colour = "primary"
            extra = "bold" if status == "fault" else "italic" if status == "silent" else ""
            style = self._style(colour, extra)
            segments.append(Segment(self._pad(key, text, name_w, bar_w), style))
        return segments

    @staticmethod
    def _pad(key: str, text: str, name_w: int, bar_w: int) -> str:
        if key == "name":
            return f" {text[:name_w]:<{name_w}} "
        if key == "bar":
            return f" {text[:bar_w]:^{bar_w}} "
        width = WIDTHS[key]
        return f" {text[:width]:>{width}} "

    def _colour(self, variable: str) -> str:
        return self.app.theme_variables.get(variable, "") or "default"

    def _style(self, variable: str, extra: str = "") -> Style:
        return Style.parse(f"{extra} {self._colour(variable)} on {self._colour('surface')}")

    def _restyle(self) -> None:
        self.call_after_refresh(self.refresh)
