"""Joint trajectories in the terminal: per joint, the observed position and the action sent,
drawn as braille dots (2x4 per cell) over the episode, with the current frame marked."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.widget import Widget

LABEL = 14  # columns for the joint's name
# braille dot bits by (column, row) inside a cell
_DOTS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


def braille_rows(series: list[np.ndarray], width: int, rows: int) -> list[list[tuple[int, int]]]:
    """For each text row, each cell's (dots of series 0, dots of series 1 …) as bit masks."""
    lo = min(float(s.min()) for s in series if len(s))
    hi = max(float(s.max()) for s in series if len(s))
    span = hi - lo or 1.0
    cells = [[[0] * len(series) for _ in range(width)] for _ in range(rows)]
    for k, values in enumerate(series):
        n = len(values)
        if n == 0:
            continue
        for x in range(width * 2):
            v = values[min(n - 1, x * n // (width * 2))]
            y = round((hi - float(v)) / span * (rows * 4 - 1))
            cells[y // 4][x // 2][k] |= _DOTS[x % 2][y % 4]
    return [[tuple(c) for c in row] for row in cells]


def plot_lines(
    names: tuple[str, ...],
    observed: np.ndarray,
    sent: np.ndarray,
    frame: int,
    width: int,
    rows_per_joint: int,
    colours: tuple[str, str, str],
) -> list[Text]:
    """The plot as lines of text: `colours` are (observation, action, cursor background)."""
    obs_colour, act_colour, cursor = colours
    plot_width = max(4, width - LABEL)
    n = max(1, len(observed))
    cursor_x = min(plot_width - 1, frame * plot_width // n)
    lines: list[Text] = []
    for j, name in enumerate(names):
        series = [observed[:, j], sent[:, j]] if sent.shape[1] > j else [observed[:, j]]
        for r, row in enumerate(braille_rows(series, plot_width, rows_per_joint)):
            label = name.removesuffix(".pos")[: LABEL - 1] if r == 0 else ""
            line = Text(label.ljust(LABEL), style="bold" if r == 0 else "")
            for x, masks in enumerate(row):
                bits = 0
                for mask in masks:
                    bits |= mask
                style = act_colour if masks[-1] and len(masks) > 1 else obs_colour
                if x == cursor_x:
                    style += f" on {cursor}"
                line.append(chr(0x2800 + bits), style=style)
            lines.append(line)
    return lines


class TrajectoryPlot(Widget):
    DEFAULT_CSS = "TrajectoryPlot { height: 1fr; }"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._data: tuple | None = None
        self._frame = 0

    def show(self, names: tuple[str, ...], observed: np.ndarray, sent: np.ndarray, frame: int):
        self._data = (names, observed, sent)
        self._frame = frame
        self.refresh()

    def render(self) -> Text:
        if self._data is None or not self._data[0]:
            return Text("no joint data")
        names, observed, sent = self._data
        variables = self.app.theme_variables
        colours = (
            variables.get("source-teleop", "cyan"),
            variables.get("source-policy", "magenta"),
            variables.get("panel", "grey23"),
        )
        rows = max(1, (self.size.height - 1) // max(1, len(names)))
        lines = plot_lines(names, observed, sent, self._frame, self.size.width, rows, colours)
        legend = Text(" " * LABEL)
        legend.append("⣿ observation", style=colours[0])
        legend.append("  ")
        legend.append("⣿ action", style=colours[1])
        return Text("\n").join([legend, *lines])
