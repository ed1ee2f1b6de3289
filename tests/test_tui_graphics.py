"""Camera pictures through the kitty graphics protocol: when it is chosen, the escapes sent to
the terminal (decoded back to the picture's pixels), the placeholder cells, and the console
widget using it only when told to (half-blocks otherwise)."""

from __future__ import annotations

import base64
import io
import os
import re
import zlib

import numpy as np
import pytest
from rich.console import Console
from rich.segment import Segment
from tui_helpers import scripted_app

from core.messages import CameraThumb
from hardware.errors import ConfigError
from tui.components.camera_preview import CameraImage, fit
from tui.graphics import (
    CHUNK,
    DIACRITICS,
    PLACEHOLDER,
    detect_graphics,
    kitty_cells,
    kitty_delete,
    kitty_image,
)

ESCAPE = re.compile(r"\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\")


def decode(escapes: str) -> list[tuple[dict[str, str], str]]:
    """The kitty escapes in `escapes` as (keys, payload), checking nothing is left between."""
    found = [(m.group(1), m.group(2) or "") for m in ESCAPE.finditer(escapes)]
    assert ESCAPE.sub("", escapes) == ""
    return [(dict(kv.split("=", 1) for kv in keys.split(",")), data) for keys, data in found]


def picture_of(escapes: str) -> tuple[dict[str, str], np.ndarray]:
    """The first chunk's keys and the picture the chunks carry, as the terminal would read it."""
    messages = decode(escapes)
    keys = messages[0][0]
    assert [k["m"] for k, _ in messages] == ["1"] * (len(messages) - 1) + ["0"]
    payload = "".join(data for _, data in messages)
    raw = base64.standard_b64decode(payload)
    if keys.get("o") == "z":
        raw = zlib.decompress(raw)
    width, height = int(keys["s"]), int(keys["v"])
    return keys, np.frombuffer(raw, np.uint8).reshape(height, width, 3)


class Terminal:
    """A real pseudo-terminal's end, so that isatty() is true."""

    def __enter__(self):
        self.master, slave = os.openpty()
        self.file = os.fdopen(slave, "w")
        return self.file

    def __exit__(self, *exc):
        self.file.close()
        os.close(self.master)


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"TERM": "xterm-kitty"}, "kitty"),
        ({"TERM": "xterm-256color", "KITTY_WINDOW_ID": "3"}, "kitty"),
        ({"TERM": "xterm-ghostty"}, "kitty"),
        ({"TERM": "xterm-256color", "TERM_PROGRAM": "ghostty"}, "kitty"),
        ({"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"}, "halfblocks"),  # no placeholders
        ({"TERM": "xterm-256color", "TERM_PROGRAM": "iTerm.app"}, "halfblocks"),
        ({"TERM": "xterm-256color"}, "halfblocks"),
        ({"TERM": "xterm-kitty", "TMUX": "/tmp/tmux-1/default,1,0"}, "halfblocks"),
        ({"TERM": "xterm-kitty", "LERECORD_GRAPHICS": "halfblocks"}, "halfblocks"),
        ({"TERM": "xterm-256color", "LERECORD_GRAPHICS": "Kitty"}, "kitty"),
        ({"TERM": "xterm-kitty", "LERECORD_GRAPHICS": "auto"}, "kitty"),
    ],
)
def test_the_protocol_comes_from_the_terminals_environment(env, expected):
    with Terminal() as tty:
        assert detect_graphics(env, tty) == expected


def test_not_a_terminal_means_half_blocks_unless_forced(tmp_path):
    with open(tmp_path / "out", "w") as file:
        kitty = {"TERM": "xterm-kitty", "KITTY_WINDOW_ID": "1"}
        assert detect_graphics(kitty, file) == "halfblocks"
        assert detect_graphics({"LERECORD_GRAPHICS": "kitty"}, file) == "kitty"


def test_an_unknown_choice_names_the_ones_there_are():
    with Terminal() as tty, pytest.raises(ConfigError) as error:
        detect_graphics({"LERECORD_GRAPHICS": "sixel"}, tty)
    assert str(error.value) == "LERECORD_GRAPHICS: 'sixel' is not one of auto, kitty, halfblocks"


def test_the_picture_sent_decodes_back_to_its_pixels():
    rng = np.random.default_rng(6)
    image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)  # noise: needs several chunks
    escapes = kitty_image(4242, image.tobytes(), 64, 48, cols=40, rows=15)
    messages = decode(escapes)
    assert len(messages) >= 3
    assert all(len(data) == CHUNK for _, data in messages[:-1]) and len(messages[-1][1]) <= CHUNK
    assert all(set(keys) == {"q", "m"} for keys, _ in messages[1:])  # keys only on the first
    keys, decoded = picture_of(escapes)
    assert keys == {
        "a": "T",
        "U": "1",
        "f": "24",
        "o": "z",
        "s": "64",
        "v": "48",
        "i": "4242",
        "c": "40",
        "r": "15",
        "q": "2",
        "m": "1",
    }
    assert np.array_equal(decoded, image)


def test_a_small_picture_fits_one_escape_and_can_be_deleted():
    image = np.zeros((2, 2, 3), np.uint8)
    image[0, 1] = (255, 0, 0)
    escapes = kitty_image(7, image.tobytes(), 2, 2, cols=2, rows=1)
    assert len(decode(escapes)) == 1
    assert np.array_equal(picture_of(escapes)[1], image)
    assert decode(kitty_delete(7)) == [({"a": "d", "d": "I", "i": "7", "q": "2"}, "")]


def _cell_positions(lines: list[list[Segment]]) -> list[list[tuple[int, int]]]:
    index = {chr(d): n for n, d in enumerate(DIACRITICS)}
    out = []
    for line in lines:
        text = "".join(segment.text for segment in line)
        cells = re.findall(f"{PLACEHOLDER}(.)(.)", text)
        assert len(cells) * 3 == len(text)
        out.append([(index[r], index[c]) for r, c in cells])
    return out


def test_placeholder_cells_name_the_image_row_and_column():
    image_id = 0x12AB34
    lines = kitty_cells(image_id, cols=5, rows=3)
    assert _cell_positions(lines) == [[(r, c) for c in range(5)] for r in range(3)]
    colour = lines[0][0].style.color.get_truecolor()
    assert (colour.red, colour.green, colour.blue) == (0x12, 0xAB, 0x34)
    assert all(Segment.get_line_length(line) == 5 for line in lines)  # one cell each


def terminal_output(app) -> str:
    """The whole screen as the escapes Textual sends a truecolour terminal."""
    out = io.StringIO()
    console = Console(file=out, color_system="truecolor", force_terminal=True, width=app.size.width)
    console.print(app.screen._compositor.render_update(full=True), end="")
    return out.getvalue()


async def _previews(app, pilot) -> list[CameraImage]:
    for _ in range(100):
        images = [i for i in app.screen.query(CameraImage) if i.thumb is not None]
        if len(images) == 2 and all(i._lines for i in images):
            return images
        await pilot.pause(0.05)
    raise AssertionError("the camera previews never drew")


async def test_the_console_draws_cameras_with_kitty_only_when_told():
    app, _, _ = scripted_app(graphics="kitty")
    async with app.run_test(size=(120, 40)) as pilot:
        sent: list[str] = []
        write = app._driver.write
        app._driver.write = lambda data: (sent.append(data), write(data))[1]  # a spy, no mock
        for image in app.screen.query(CameraImage):
            image._drawn_size = (0, 0)  # redraw now that the spy listens
            image.refresh()
        images = await _previews(app, pilot)
        await pilot.pause(0.2)
        for image in images:
            thumb: CameraThumb = image.thumb
            cols, rows = fit(thumb, image.size.width, image.size.height)
            assert _cell_positions(image._lines) == [
                [(r, c) for c in range(cols)] for r in range(rows)
            ]
            mine = [s for s in sent if f",i={image._image_id}," in s]
            assert mine, "no picture sent for this camera"
            keys, pixels = picture_of(mine[-1])
            assert (keys["c"], keys["r"]) == (str(cols), str(rows))
            assert pixels.tobytes() == thumb.rgb  # the frozen clock: the same picture throughout
        assert len({i._image_id for i in images}) == 2
        ids = [i._image_id for i in images]
        # what Textual would write to the terminal: the cells keep the images' ids as colours
        colours = re.findall(rf"38;2;(\d+);(\d+);(\d+)[;\d]*m{PLACEHOLDER}", terminal_output(app))
        assert {tuple(map(int, c)) for c in colours} == {
            (i >> 16 & 255, i >> 8 & 255, i & 255) for i in ids
        }
    assert any(decode(s) == [({"a": "d", "d": "I", "i": str(ids[0]), "q": "2"}, "")] for s in sent)


async def test_half_blocks_by_default():
    app, _, _ = scripted_app()
    async with app.run_test(size=(120, 40)) as pilot:
        sent: list[str] = []
        write = app._driver.write
        app._driver.write = lambda data: (sent.append(data), write(data))[1]
        for image in await _previews(app, pilot):
            text = "".join(s.text for line in image._lines for s in line)
            assert set(text) == {"▀"} and image._image_id == 0
        assert "▀" in terminal_output(app) and PLACEHOLDER not in terminal_output(app)
    assert not any("\x1b_G" in data for data in sent)
