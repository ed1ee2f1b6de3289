"""Snapshots of the console: every phase (recording, reset, paused, saving, ended, e-stopped,
engine failed) at 120x40, 80x24 and 60x20 in the default theme; every theme on a dark and on a
light terminal background; the wizard and the help screen. Fixed telemetry, frozen clock.

The terminal's own background is what shows wherever the console paints none: the snapshots
are drawn once over a dark and once over a light terminal (`terminal` below), and
`test_every_cell_paints_its_background` checks no cell leaves it visible, in every theme.
Update with `pytest tests/test_tui_snapshots.py --snapshot-update` after a deliberate change.
"""

from __future__ import annotations

from functools import partialmethod

import pytest
from rich.console import Console
from rich.terminal_theme import TerminalTheme
from tui_helpers import scripted_app

from tui.app import make_app
from tui.detect import Detected
from tui.themes import ORDER

SIZES = [(120, 40), (80, 24), (60, 20)]
# phase: (scenario, script time, keys pressed before the snapshot)
PHASES = {
    "recording": ("policy", 3.0, []),
    "reset": ("reset", 0.5, []),
    "paused": ("normal", 3.0, ["p"]),
    "saving": ("saving", 3.0, []),
    "ended": ("normal", 3.0, ["q", "s"]),
    "e-stopped": ("normal", 3.0, ["space"]),
    "failed": ("normal", 3.0, []),
}
TERMINALS = {
    "dark-terminal": TerminalTheme((0, 0, 0), (200, 200, 200), [(0, 0, 0)] * 8, [(0, 0, 0)] * 8),
    "light-terminal": TerminalTheme(
        (255, 255, 255), (40, 40, 40), [(0, 0, 0)] * 8, [(0, 0, 0)] * 8
    ),
}


@pytest.fixture(params=list(TERMINALS))
def terminal(request, monkeypatch):
    """Export the snapshot as that terminal would show it (its own background behind)."""
    theme = TERMINALS[request.param]
    monkeypatch.setattr(Console, "export_svg", partialmethod(Console.export_svg, theme=theme))
    return request.param


async def _settle(pilot):
    """Until the dashboard has drawn the scripted telemetry (however loaded the machine is)."""
    app = pilot.app
    for _ in range(100):
        if app.engine is None or app.telemetry.phase != "connecting":
            break
        await pilot.pause(0.05)
    await pilot.pause(0.2)
    await pilot.wait_for_scheduled_animations()


def _phase_app(phase: str, **options):
    scenario, at, keys = PHASES[phase]
    app, engine, _ = scripted_app(scenario, start_at_s=at, **options)

    async def run_before(pilot):
        await _settle(pilot)
        if phase == "failed":
            engine.fail_after_s = 0.0  # the next snapshot raises: the bus went away
            for _ in range(100):
                if app.engine_error is not None:
                    break
                await pilot.pause(0.05)
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.2)
        await pilot.pause(0.2)
        await pilot.wait_for_scheduled_animations()

    return app, run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("phase", list(PHASES))
def test_phase(snap_compare, phase, size):
    app, run_before = _phase_app(phase)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("theme", ORDER)
def test_theme(snap_compare, terminal, theme):
    app, _, _ = scripted_app("fault", theme=theme)
    assert snap_compare(app, terminal_size=(100, 30), run_before=_settle)


@pytest.mark.parametrize("theme", ORDER)
async def test_every_cell_paints_its_background(theme):
    """No cell of the dashboard (in any phase shown here) leaves the terminal's background
    visible, and every character is drawn in a colour that stands out from its cell's."""
    app, _, _ = scripted_app("fault", theme=theme)
    async with app.run_test(size=(100, 30)) as pilot:
        await _settle(pilot)
        for strip in app.screen._compositor.render_strips():
            for segment in strip:
                style = segment.style
                assert style is not None and style.bgcolor is not None, (theme, segment.text)
                text = segment.text.replace("▀", "").strip()  # '▀': camera pixels
                if text and style.color is not None:
                    assert contrast(style.color, style.bgcolor) >= 2.0, (theme, segment.text)


def contrast(fg, bg) -> float:
    """WCAG contrast ratio of two rich colours."""

    def luminance(colour) -> float:
        channels = [c / 255 for c in colour.get_truecolor()]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("theme", ["dark", "light"])
def test_wizard(snap_compare, theme, size):
    detected = Detected(ports=(("/dev/ttyACM0", "servo ids 1, 2, 3, 4, 5, 6"),))
    app = make_app(None, wizard=True, theme=theme, detector=lambda: detected)
    assert snap_compare(app, terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare, size):
    app, _, _ = scripted_app()
    assert snap_compare(app, terminal_size=size, press=["question_mark"], run_before=_settle)
