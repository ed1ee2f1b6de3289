"""Shared by the console tests: a frozen clock, the screen as text, the app around an engine."""

from __future__ import annotations

from tui.app import make_app
from tui.scripted_engine import ScriptedEngine


class Clock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def wait_for_text(pilot, app, needle: str, timeout: float = 5.0) -> str:
    """The screen's text once it shows `needle` (the last text seen if it never does)."""
    for _ in range(int(timeout / 0.05)):
        text = screen_text(app)
        if needle in text:
            return text
        await pilot.pause(0.05)
    return screen_text(app)


def scripted_app(scenario: str = "normal", start_at_s: float = 3.0, **options):
    clock = Clock()
    engine = ScriptedEngine(scenario=scenario, start_at_s=start_at_s, clock=clock)
    return make_app(engine, **options), engine, clock
