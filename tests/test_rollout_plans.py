"""The rollout strategies' phase plans run by the real control loop on a fake clock with fake
devices (tests/test_control_loop.py's): every phase and verdict, in test time, at 10 Hz."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from test_control_loop import (
    FPS,
    FakeActions,
    FakeClock,
    FakeFrames,
    FakeReports,
    FakeRig,
    FakeRobot,
)

from core import messages as m
from core.config.rollout import DaggerStrategyConfig
from core.control import ControlLoop
from core.strategies import BasePlan, DaggerPlan, HighlightPlan, ReturnHome, SentryPlan


@dataclass
class Judge:
    refused: bool = False


class Run:
    def __init__(self, plan):
        self.clock = FakeClock()
        self.frames = FakeFrames()
        self.reports = FakeReports()
        self.loop = ControlLoop(
            FakeRig(FakeRobot(self.clock)), FakeActions(), self.frames, self.reports, plan,
            fps=FPS, task="patrol", clock=self.clock,
        )  # fmt: skip

    def press(self, t: float, command) -> None:
        self.clock.at(t, lambda: self.loop.commands.put(command))

    def phases(self) -> list[str]:
        return [name for name, _ in self.reports.phases()]


def test_base_runs_for_the_duration_and_records_nothing():
    run = Run(BasePlan(duration_s=1.0, fps=FPS))
    assert run.loop.run() == "completed"
    assert run.clock.t == pytest.approx(1.0)
    assert run.frames.log == [] and run.phases() == ["running"]
    assert len(run.reports.steps) == 10


def test_sentry_cuts_episodes_back_to_back_and_pushes_every_n():
    run = Run(SentryPlan(0, 0.5, 2, duration_s=2.0, fps=FPS, limit=0))
    assert run.loop.run() == "completed"
    assert run.frames.log == [("save", 5)] * 4
    assert run.reports.pushes == [False, False]  # after the 2nd and the 4th episode
    assert run.phases() == ["recording"] * 4


def test_sentry_stop_discards_the_episode_in_progress():
    run = Run(SentryPlan(0, 0.5, 5, duration_s=0, fps=FPS, limit=0))
    run.press(0.72, m.Stop(save_current=False))
    assert run.loop.run() == "stopped"
    assert run.frames.log == [("save", 5), ("discard", 4)]  # the stop gets a last step


def dagger(judge: Judge, **fields) -> DaggerPlan:
    config = DaggerStrategyConfig(**fields)
    return DaggerPlan(0, config, duration_s=0, fps=FPS, limit=1, judge=judge)


def test_dagger_hands_over_then_records_the_correction():
    run = Run(dagger(Judge()))
    run.press(0.25, m.StrategyKey("correction"))
    run.press(1.85, m.StrategyKey("correction"))
    assert run.loop.run() == "completed"
    assert run.phases() == ["running", "handover", "correction"]
    handover = [s for s in run.reports.steps if s.phase == "handover"]
    assert len(handover) == 10  # one second of sliding before the human drives
    assert run.frames.log == [("save", 6)]


def test_dagger_refused_take_over_goes_back_to_the_policy():
    run = Run(dagger(Judge(refused=True), smooth_handover=False))
    run.press(0.25, m.StrategyKey("correction"))
    run.press(0.65, m.Stop(save_current=False))
    assert run.loop.run() == "stopped"
    assert run.phases() == ["running", "handover", "running"]
    assert len([s for s in run.reports.steps if s.phase == "handover"]) == 1  # one check
    assert run.frames.log == []


def test_dagger_upload_key_pushes_now():
    run = Run(dagger(Judge()))
    run.press(0.25, m.StrategyKey("upload"))
    run.press(0.55, m.Stop(save_current=False))
    run.loop.run()
    assert run.reports.pushes == [True]


def test_highlight_saves_from_the_buffer_and_pushes_on_its_keys():
    run = Run(HighlightPlan(0, duration_s=0, fps=FPS))
    run.press(0.35, m.StrategyKey("push"))
    run.press(0.75, m.StrategyKey("save"))
    run.press(1.05, m.StrategyKey("save"))
    run.press(1.25, m.Stop(save_current=False))
    assert run.loop.run() == "stopped"
    assert run.phases() == ["buffering", "buffering", "recording", "buffering"]
    assert run.reports.pushes == [True]
    assert run.frames.log == [("save", 4)]  # live frames (the buffer is RolloutFrames' own)


def test_the_return_home_comes_last_and_never_after_an_emergency_stop():
    run = Run(ReturnHome(BasePlan(duration_s=0.5, fps=FPS)))
    run.loop.run()
    assert run.phases() == ["running", "returning"]
    assert len([s for s in run.reports.steps if s.phase == "returning"]) == 30
    run = Run(ReturnHome(BasePlan(duration_s=0, fps=FPS)))
    run.press(0.25, m.EmergencyStop())
    assert run.loop.run() == "emergency_stop"
    assert run.phases() == ["running"]
