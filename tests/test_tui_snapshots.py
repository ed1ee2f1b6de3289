"""Snapshots of the console at 80x24 and 120x40 in two themes: the dashboard (normal, fault and
reset phase), the wizard and the help screen. Fixed telemetry, frozen clock.
Update with `pytest tests/test_tui_snapshots.py --snapshot-update` after a deliberate change."""

from __future__ import annotations

import pytest
from tui_helpers import scripted_app

from tui.app import make_app
from tui.detect import Detected

SIZES = [(80, 24), (120, 40)]
THEMES = ["dark", "light"]


async def _settle(pilot):
    """Until the dashboard has drawn the scripted telemetry (however loaded the machine is)."""
    app = pilot.app
    for _ in range(100):
        if app.engine is None or app.telemetry.phase != "connecting":
            break
        await pilot.pause(0.05)
    await pilot.pause(0.2)
    await pilot.wait_for_scheduled_animations()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("scenario", ["normal", "fault", "reset"])
def test_dashboard(snap_compare, scenario, theme, size):
    app, _, _ = scripted_app(scenario, start_at_s=0.5 if scenario == "reset" else 3.0,
                             theme=theme)
    assert snap_compare(app, terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("theme", THEMES)
def test_wizard(snap_compare, theme, size):
    detected = Detected(ports=(("/dev/ttyACM0", "servo ids 1, 2, 3, 4, 5, 6"),))
    app = make_app(None, wizard=True, theme=theme, detector=lambda: detected)
    assert snap_compare(app, terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("theme", THEMES)
def test_help(snap_compare, theme, size):
    app, _, _ = scripted_app(theme=theme)
    assert snap_compare(app, terminal_size=size, press=["question_mark"], run_before=_settle)
