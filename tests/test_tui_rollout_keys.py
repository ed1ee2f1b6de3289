"""The console's keys for `lerecord rollout`'s strategies: highlight's save and push, dagger's
take-over / give-back and push, offered in the key bar only in the phases where they act, sent
to the engine as the strategy's keys, remappable; snapshots of the dagger and highlight phases.

The engine is the console tests' scripted engine showing a rollout's phases (the real control
loop's answers to these keys are tested in test_rollout_strategies.py and test_dagger_pedal.py).
"""

from __future__ import annotations

from dataclasses import replace

from tui_helpers import Clock, shows

from core import messages as m
from tui.app import make_app
from tui.components.key_bar import KeyBar
from tui.scripted_engine import ScriptedEngine


class RolloutEngine(ScriptedEngine):
    """The scripted session, its recording shown as a rollout phase; dagger's correction key
    swaps the policy's phase and the human's."""

    def __init__(self, phase: str, clock):
        super().__init__(scenario="policy", start_at_s=3.0, clock=clock)
        self.rollout_phase = phase

    def send(self, command: m.Command) -> None:
        if isinstance(command, m.StrategyKey):
            self.received.append(command)
            if command.action == "correction":
                human = self.rollout_phase == "correction"
                self.rollout_phase = "running" if human else "correction"
            return
        super().send(command)

    def snapshot(self) -> m.Telemetry:
        telemetry = super().snapshot()
        if telemetry.phase != "recording":
            return telemetry
        return replace(telemetry, phase=self.rollout_phase)


def rollout_app(phase: str, strategy: str | None, **options):
    engine = RolloutEngine(phase, Clock())
    return make_app(engine, strategy=strategy, **options), engine


async def settle(pilot, phase: str) -> None:
    for _ in range(100):
        if pilot.app.telemetry.phase == phase:
            break
        await pilot.pause(0.05)
    await pilot.pause(0.2)


def bar(app) -> list[str]:
    return [action for action, _, _ in app.screen.query_one(KeyBar).keys()]


def sent(engine) -> list[str]:
    return [c.action for c in engine.received if isinstance(c, m.StrategyKey)]


async def test_dagger_takes_over_and_gives_back_from_its_key():
    app, engine = rollout_app("running", "dagger")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, "running")
        keys = bar(app)
        assert "take_over" in keys and "push" in keys and "pause" in keys and "stop" in keys
        assert "give_back" not in keys and "highlight_save" not in keys
        assert "exit_early" not in keys  # the policy's run is no episode to end
        await pilot.press("y")
        await settle(pilot, "correction")
        assert "give_back" in bar(app) and "take_over" not in bar(app)
        assert await shows(pilot, app, "Give back")
        await pilot.press("y", "u")
        await settle(pilot, "running")
        assert sent(engine) == ["correction", "correction", "upload"]


async def test_highlight_saves_and_pushes_from_its_keys():
    app, engine = rollout_app("buffering", "highlight")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, "buffering")
        keys = bar(app)
        assert "highlight_save" in keys and "push" in keys and "take_over" not in keys
        assert await shows(pilot, app, "Save highlight")
        await pilot.press("b", "u")
        await pilot.pause(0.2)
    assert sent(engine) == ["save", "push"]


async def test_the_strategy_keys_are_absent_where_they_do_nothing():
    app, engine = rollout_app("recording", None)  # lerecord record: no strategy
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, "recording")
        keys = bar(app)
        await pilot.press("b", "u", "y")
        await pilot.pause(0.2)
    assert not {"highlight_save", "push", "take_over", "give_back"} & set(keys)
    assert sent(engine) == []


async def test_the_take_over_key_is_remappable():
    app, engine = rollout_app("running", "dagger", keys={"take-over": "x"})
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, "running")
        await pilot.press("y", "x")
        await pilot.pause(0.2)
    assert sent(engine) == ["correction"]


def test_snapshot_dagger_correction(snap_compare):
    app, _ = rollout_app("correction", "dagger")
    assert snap_compare(app, terminal_size=(120, 40), run_before=_settled("correction"))


def test_snapshot_highlight_buffering(snap_compare):
    app, _ = rollout_app("buffering", "highlight")
    assert snap_compare(app, terminal_size=(120, 40), run_before=_settled("buffering"))


def _settled(phase: str):
    async def run_before(pilot):
        await settle(pilot, phase)
        await pilot.wait_for_scheduled_animations()

    return run_before


async def test_interactive_start_and_reset_are_keys_in_the_console():
    app, engine = rollout_app("waiting", "base", interactive=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, "waiting")
        assert "start_run" in bar(app) and "reset_run" in bar(app)
        assert await shows(pilot, app, "Start")
        await pilot.press("enter", "home")
        await pilot.pause(0.2)
    assert sent(engine) == ["start", "reset"]
    app, engine = rollout_app("waiting", "base")  # not interactive: no such keys
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, "waiting")
        assert "start_run" not in bar(app)
