"""Camera previews: each camera's latest thumbnail drawn with Unicode half-blocks.

Each character cell shows two pixels: '▀' with the upper pixel as foreground colour and the
lower one as background, which every colour terminal (and every SSH session) can display.
When the app's `graphics` is "kitty" (see `tui.graphics`) the same cells show the thumbnail's
real pixels through the kitty graphics protocol instead.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from core.messages import CameraThumb
from tui.graphics import kitty_cells, kitty_delete, kitty_image, new_image_id


def scale(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Nearest-neighbour resize of an HxWx3 image to height x width."""
    rows = (np.arange(height) * image.shape[0] // max(1, height)).clip(0, image.shape[0] - 1)
    cols = (np.arange(width) * image.shape[1] // max(1, width)).clip(0, image.shape[1] - 1)
    return image[rows][:, cols]


def fit(thumb: CameraThumb, width: int, rows: int) -> tuple[int, int]:
    """(columns, rows) of the largest area of width x rows cells holding the thumbnail with its
    aspect kept; (0, 0) when nothing fits."""
    if width <= 0 or rows <= 0 or thumb.width == 0 or thumb.height == 0:
        return 0, 0
    # a cell is about twice as tall as wide: one cell = 1 pixel wide, 2 pixels tall
    fit_w = min(width, int(rows * 2 * thumb.width / thumb.height))
    fit_h = max(2, min(rows * 2, int(fit_w * thumb.height / thumb.width)) // 2 * 2)
    return fit_w, fit_h // 2


def half_block_lines(thumb: CameraThumb, width: int, rows: int) -> list[list[Segment]]:
    """The thumbnail fitted in width x rows cells (aspect kept), as lines of half-block segments."""
    fit_w, fit_rows = fit(thumb, width, rows)
    if fit_w == 0:
        return []
    fit_h = fit_rows * 2
    image = np.frombuffer(thumb.rgb, dtype=np.uint8).reshape(thumb.height, thumb.width, 3)
    # 5 bits a channel: no visible loss at this size, and far fewer distinct cell styles
    pixels = (scale(image, fit_w, fit_h) & 0xF8).tolist()
    lines = []
    for y in range(0, fit_h, 2):
        pairs = zip(pixels[y], pixels[y + 1], strict=True)
        lines.append([Segment("▀", _cell_style(*t, *b)) for t, b in pairs])
    return lines


@lru_cache(maxsize=8192)
def _cell_style(r: int, g: int, b: int, r2: int, g2: int, b2: int) -> Style:
    return Style.from_color(Color.from_rgb(r, g, b), Color.from_rgb(r2, g2, b2))


class CameraImage(Widget):
    """One camera's thumbnail, redrawn only when a new one arrives (or the widget is resized);
    with the kitty protocol, that is also when the picture is sent to the terminal."""

    DEFAULT_CSS = """
    CameraImage { width: 1fr; height: 1fr; }
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.thumb: CameraThumb | None = None
        self._lines: list[list[Segment]] = []
        self._drawn_size = (0, 0)
        self._image_id = 0  # the terminal's id for this widget's picture (kitty protocol)

    @property
    def protocol(self) -> str:
        """How to draw: the app's `graphics` ("kitty" or "halfblocks"; half-blocks by default)."""
        return getattr(self.app, "graphics", "halfblocks")

    def show(self, thumb: CameraThumb) -> None:
        if self.thumb is not None and thumb.rgb == self.thumb.rgb:
            return
        self.thumb = thumb
        self._drawn_size = (0, 0)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        size = (self.size.width, self.size.height)
        if self.thumb is not None and size != self._drawn_size:
            self._lines = self._draw(self.thumb, *size)
            self._drawn_size = size
        # the margins around the picture take the theme's panel colour, not the terminal's
        margin = Style.parse(f"on {self.app.theme_variables.get('surface') or 'default'}")
        if y < len(self._lines):
            return Strip(self._lines[y]).extend_cell_length(self.size.width, margin)
        return Strip.blank(self.size.width, margin)

    def _draw(self, thumb: CameraThumb, width: int, rows: int) -> list[list[Segment]]:
        if self.protocol != "kitty":
            return half_block_lines(thumb, width, rows)
        cols, rows = fit(thumb, width, rows)
        if cols == 0:
            return []
        self._image_id = self._image_id or new_image_id()
        self._send(kitty_image(self._image_id, thumb.rgb, thumb.width, thumb.height, cols, rows))
        return kitty_cells(self._image_id, cols, rows)

    def _send(self, escapes: str) -> None:
        """Straight to the terminal, through the driver's writer (queued, never blocking)."""
        driver = getattr(self.app, "_driver", None)
        if driver is not None:
            driver.write(escapes)

    def on_unmount(self) -> None:
        if self._image_id:
            self._send(kitty_delete(self._image_id))


class CameraPreview(Vertical):
    """A camera's name and frame age above its latest thumbnail."""

    DEFAULT_CSS = """
    CameraPreview { height: 1fr; }
    CameraPreview .camera-title { height: 1; color: $text-muted; text-wrap: nowrap; }
    """

    def __init__(self, name: str, **kwargs):
        super().__init__(**kwargs)
        self.camera = name
        self._title = ""

    def compose(self) -> ComposeResult:
        yield Static(self.camera, classes="camera-title")
        yield CameraImage()

    def show(self, thumb: CameraThumb) -> None:
        title = f"{thumb.name} {thumb.age_ms:.0f} ms"
        if title != self._title:
            self._title = title
            self.query_one(".camera-title", Static).update(title)
        self.query_one(CameraImage).show(thumb)


class CameraPreviews(Vertical):
    """A preview per camera, added when the camera first appears in the telemetry; the previews
    share the panel (stacked, or side by side when the panel is much wider than tall)."""

    DEFAULT_CSS = """
    CameraPreviews { background: $surface; border: round $secondary;
                     border-title-color: $foreground; border-title-style: bold; }
    CameraPreviews.-side-by-side { layout: horizontal; }
    CameraPreviews.-side-by-side CameraPreview { width: 1fr; height: 100%; }
    """

    def on_mount(self) -> None:
        self.border_title = "cameras"

    def on_resize(self) -> None:
        self._arrange()

    def _arrange(self) -> None:
        count = len(self.query(CameraPreview))
        width, height = max(1, self.content_size.width), max(1, self.content_size.height)

        def misfit(box_w: float, box_h: float) -> float:  # 4:3 pictures: 8:3 in cells
            return abs(math.log(box_w / max(1.0, box_h) / (8 / 3)))

        side = count > 1 and misfit(width / count, height) < misfit(width, height / count)
        self.set_class(side, "-side-by-side")

    def show(self, thumbs: tuple[CameraThumb, ...]) -> None:
        for thumb in thumbs:
            previews = [p for p in self.query(CameraPreview) if p.camera == thumb.name]
            if previews:
                previews[0].show(thumb)
            else:
                preview = CameraPreview(thumb.name)
                self.mount(preview)
                self.call_after_refresh(preview.show, thumb)
                self.call_after_refresh(self._arrange)
