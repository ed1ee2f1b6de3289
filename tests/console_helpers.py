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


def scripted_app(scenario: str = "normal", start_at_s: float = 3.0, **options):
    clock = Clock()
    engine = ScriptedEngine(scenario=scenario, start_at_s=start_at_s, clock=clock)
    return make_app(engine, **options), engine, clock
