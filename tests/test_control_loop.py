"""The control loop stepped on a fake clock with fake devices: every phase transition, in
milliseconds of test time.

At 10 Hz an episode of 0.5 s is 5 frames (steps at t = 0.0 … 0.4) and a reset of 0.3 s is
3 steps; commands arrive at times between steps, as an operator's keys would.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

import pytest

from core import messages as m
from core.control import FAULT_LIMIT_S, ControlLoop, SessionFault
from core.plan import EpisodicPlan
from core.score import Score
from hardware.errors import DeviceError

FPS = 10
PERIOD = 1 / FPS


class FakeClock:
    """Time moves only when the loop sleeps (or a fake device says a call took long);
    `at(t, fn)` runs fn once time reaches t."""

    def __init__(self):
        self.t = 0.0
        self._timers: list = []
        self._order = itertools.count()

    def now(self) -> float:
        return self.t

    def sleep_until(self, t: float) -> None:
        self.advance_to(t)

    def spend(self, seconds: float) -> None:
        self.advance_to(self.t + seconds)

    def advance_to(self, t: float) -> None:
        while self._timers and self._timers[0][0] <= max(t, self.t) + 1e-9:
            when, _, fn = heapq.heappop(self._timers)
            self.t = max(self.t, when)
            fn()
        self.t = max(self.t, t)

    def at(self, t: float, fn) -> None:
        heapq.heappush(self._timers, (t, next(self._order), fn))


class FakeRobot:
    def __init__(self, clock: FakeClock):
        self.clock = clock
        self.position = 0.0
        self.temperature = 30.0
        self.silent_between: tuple[float, float] | None = None  # get_observation raises then
        self.slow_send: dict[float, float] = {}  # at time t, send_action takes s seconds
        self.calls: list[str] = []

    def get_observation(self) -> dict:
        if self.silent_between and self.silent_between[0] <= self.clock.t < self.silent_between[1]:
            raise DeviceError("no status packet from motor 1")
        return {"wrist.pos": self.position, "wrist.temperature": self.temperature}

    def send_action(self, action: dict) -> dict:
        for t, cost in list(self.slow_send.items()):
            if abs(self.clock.t - t) < 1e-6:
                self.clock.spend(cost)
        self.position = action["wrist.pos"]
        return dict(action)

    def hold(self) -> None:
        self.calls.append(f"hold@{self.clock.t:.2f}")

    def emergency_stop(self) -> None:
        self.calls.append(f"emergency_stop@{self.clock.t:.2f}")


@dataclass
class FakeRig:
    robot: FakeRobot
    robot_label: str = "so101_follower 'arm'"
    motors: list = field(default_factory=lambda: ["wrist"])
    action_names: list = field(default_factory=lambda: ["wrist.pos"])
    cameras: dict = field(default_factory=dict)


class FakeActions:
    """A teleoperator whose action is one step ahead of the arm."""

    def __init__(self):
        self.episodes_started = 0
        self.keys: list[str] = []

    def start_episode(self, observation):
        self.episodes_started += 1

    def choose(self, phase, observation):
        return {"wrist.pos": observation["wrist.pos"] + 1.0}, "teleop", None

    def key(self, key: m.TeleopKey) -> None:
        self.keys.append(key.key)


class FakeFrames:
    def __init__(self, can_remove: bool = True):
        self.log: list[tuple] = []
        self.frames = 0
        self.episodes_saved = 0
        self.dropped_frames = 0
        self.encoder_backlog = 0
        self.can_remove = can_remove
        self.on_save = lambda: None
        self.awaiting_outcome = False
        self.phases: list[str] = []

    def phase_started(self, phase):
        self.phases.append(phase.name)

    def start_episode(self):
        self.frames = 0

    def add(self, observation, action):
        self.frames += 1

    def between_steps(self):
        pass

    def save_episode(self, outcome=None):
        self.on_save()
        entry = ("save", self.frames) if outcome is None else ("save", self.frames, outcome)
        self.log.append(entry)
        self.episodes_saved += 1
        self.awaiting_outcome = outcome is None

    def mark_outcome(self, outcome, episode=None):
        self.log.append(("mark", outcome) if episode is None else ("mark", outcome, episode))
        self.awaiting_outcome = False
        return self.episodes_saved - 1 if self.episodes_saved else None

    def discard_episode(self):
        self.log.append(("discard", self.frames))

    def remove_last_episode(self) -> bool:
        self.log.append(("remove_last",))
        if self.can_remove:
            self.episodes_saved -= 1
        return self.can_remove


class FakeReports:
    def __init__(self):
        self.events: list = []
        self.steps: list = []
        self.telemetry: list[m.Telemetry] = []
        self.hot: list[str] = []
        self.pushes: list[bool] = []

    def emit(self, event):
        self.events.append(event)

    def publish(self, telemetry):
        self.telemetry.append(telemetry)

    def step_done(self, step):
        self.steps.append(step)

    def active_warnings(self):
        return ()

    score = Score()

    def overheating(self, motor, temperature):
        self.hot.append(motor)

    def push_dataset(self, asked):
        self.pushes.append(asked)

    def of(self, kind):
        return [e for e in self.events if isinstance(e, kind)]

    def phases(self) -> list[tuple[str, int]]:
        return [(e.phase, e.episode_index) for e in self.of(m.PhaseChanged)]


class Rig:
    """A loop, its fakes and a clock, ready to run."""

    def __init__(
        self,
        episodes=2,
        episode_s=0.5,
        reset_s=0.3,
        first=0,
        can_remove=True,
        prompt=False,
        wait=60.0,
    ):
        self.clock = FakeClock()
        self.robot = FakeRobot(self.clock)
        self.actions = FakeActions()
        self.frames = FakeFrames(can_remove)
        self.reports = FakeReports()
        self.plan = EpisodicPlan(first, episodes, episode_s, reset_s, outcome_prompt=prompt)
        self.loop = ControlLoop(
            FakeRig(self.robot),
            self.actions,
            self.frames,
            self.reports,
            self.plan,
            fps=FPS,
            task="Pick up the cube",
            clock=self.clock,
            outcome_prompt=prompt,
            outcome_wait_s=wait,
        )

    def press(self, t: float, command) -> None:
        self.clock.at(t, lambda: self.loop.commands.put(command))

    def run(self) -> str:
        return self.loop.run()

    def steps(self, phase: str | None = None) -> list:
        return [s for s in self.reports.steps if phase is None or s.phase == phase]


def test_episodes_and_resets_alternate_until_num_episodes_are_saved():
    rig = Rig(episodes=2)
    assert rig.run() == "completed"
    assert rig.frames.log == [("save", 5), ("save", 5)]
    # no reset after the last episode
    assert rig.reports.phases() == [("recording", 0), ("reset", 1), ("recording", 1)]
    assert [e.episode_index for e in rig.reports.of(m.EpisodeStarted)] == [0, 1]
    assert rig.clock.t == pytest.approx(0.5 + 0.3 + 0.5)
    recording = rig.steps("recording")
    assert [s.frame_index for s in recording] == [0, 1, 2, 3, 4] * 2
    assert [s.event for s in recording[:5]] == ["episode_start", "", "", "", "episode_end"]
    assert [s.frame_index for s in rig.steps("reset")] == [0, 1, 2]
    assert all(s.robot_connected and s.source == "teleop" for s in rig.reports.steps)
    assert [s.step for s in rig.reports.steps] == list(range(13))
    assert rig.reports.telemetry[-1].num_episodes == 2
    assert rig.actions.episodes_started == 2


def test_episode_numbers_continue_a_resumed_dataset():
    rig = Rig(episodes=1, first=7)
    rig.run()
    assert rig.reports.phases() == [("recording", 7)]
    assert rig.reports.telemetry[-1].num_episodes == 8


def test_no_reset_at_all_when_reset_time_is_zero():
    rig = Rig(episodes=3, reset_s=0)
    assert rig.run() == "completed"
    assert rig.reports.phases() == [("recording", 0), ("recording", 1), ("recording", 2)]
    assert rig.clock.t == pytest.approx(1.5)


def test_exit_early_during_recording_saves_the_frames_so_far_with_a_last_marked_step():
    rig = Rig(episodes=2)
    rig.press(0.25, m.ExitEarly())
    rig.run()
    assert rig.frames.log == [("save", 4), ("save", 5)]
    first = rig.steps("recording")[:4]
    assert [s.event for s in first] == ["episode_start", "", "", "episode_end"]
    assert rig.reports.phases()[1] == ("reset", 1)


def test_exit_early_during_reset_starts_the_next_episode_at_once():
    rig = Rig(episodes=2)
    rig.press(0.55, m.ExitEarly())
    rig.run()
    assert len(rig.steps("reset")) == 2  # at 0.5, and the last one at 0.6
    assert rig.clock.t == pytest.approx(0.6 + 0.5)  # the episode starts at the last step
    assert rig.frames.log == [("save", 5), ("save", 5)]


def test_rerecord_during_recording_discards_it_resets_and_records_the_same_episode():
    rig = Rig(episodes=1)
    rig.press(0.15, m.Rerecord())
    assert rig.run() == "completed"
    # the step at 0.2 handles the key and is the episode's last (marked), so 3 frames
    assert rig.frames.log == [("discard", 3), ("save", 5)]
    discarded = rig.reports.of(m.EpisodeDiscarded)
    assert [(e.episode_index, e.frames, e.reason) for e in discarded] == [(0, 3, "rerecord")]
    assert rig.reports.phases() == [("recording", 0), ("reset", 0), ("recording", 0)]
    assert rig.steps("recording")[2].event == "rerecord"


def test_rerecord_during_reset_takes_the_saved_episode_out_and_records_it_again():
    rig = Rig(episodes=2)
    rig.press(0.55, m.Rerecord())
    assert rig.run() == "completed"
    assert rig.frames.log == [("save", 5), ("remove_last",), ("save", 5), ("save", 5)]
    assert rig.reports.phases() == [
        ("recording", 0), ("reset", 1), ("recording", 0), ("reset", 1), ("recording", 1),
    ]  # fmt: skip
    discarded = rig.reports.of(m.EpisodeDiscarded)
    # the episode taken out again is reported with its real length
    assert [(e.episode_index, e.frames, e.reason) for e in discarded] == [(0, 5, "rerecord")]


def test_rerecord_during_reset_with_nothing_to_take_out_goes_on_to_the_next_episode():
    rig = Rig(episodes=2, can_remove=False)
    rig.press(0.55, m.Rerecord())
    rig.run()
    assert rig.frames.log == [("save", 5), ("remove_last",), ("save", 5)]
    assert rig.reports.of(m.EpisodeDiscarded) == []
    assert rig.reports.phases()[-1] == ("recording", 1)


def test_rerecord_in_the_reset_after_a_rerecord_does_not_remove_an_earlier_episode():
    rig = Rig(episodes=1)
    rig.press(0.15, m.Rerecord())
    rig.press(0.25, m.Rerecord())  # during the reset that follows (it starts at 0.3)
    rig.run()
    assert ("remove_last",) not in rig.frames.log
    assert rig.frames.log == [("discard", 3), ("save", 5)]
    assert rig.reports.phases() == [("recording", 0), ("reset", 0), ("recording", 0)]


def test_stop_without_saving_discards_the_episode_and_ends():
    rig = Rig(episodes=3)
    rig.press(0.25, m.Stop(save_current=False))
    assert rig.run() == "stopped"
    assert rig.frames.log == [("discard", 4)]
    assert [e.reason for e in rig.reports.of(m.EpisodeDiscarded)] == ["stop"]
    assert rig.steps()[-1].event == "stop"
    assert rig.reports.phases() == [("recording", 0)]


def test_stop_with_saving_keeps_the_episode_and_ends():
    rig = Rig(episodes=3)
    rig.press(0.25, m.Stop(save_current=True))
    assert rig.run() == "stopped"
    assert rig.frames.log == [("save", 4)]


def test_stop_during_reset_ends_with_the_saved_episodes_kept():
    rig = Rig(episodes=3)
    rig.press(0.55, m.Stop(save_current=False))
    assert rig.run() == "stopped"
    assert rig.frames.log == [("save", 5)]
    assert rig.reports.phases() == [("recording", 0), ("reset", 1)]


def test_pause_holds_the_arm_stops_the_phase_clock_and_records_nothing_until_resume():
    rig = Rig(episodes=1)
    rig.press(0.15, m.Pause())
    rig.press(0.55, m.Resume())
    rig.run()
    assert rig.robot.calls == ["hold@0.20"]  # the first step after the key
    assert rig.frames.log == [("save", 5)]
    assert rig.reports.phases() == [("recording", 0), ("paused", 0), ("recording", 0)]
    paused = [s for s in rig.steps() if s.source == "hold"]
    assert len(paused) == 4  # 0.2, 0.3, 0.4, 0.5: held, not counted
    assert {s.frame_index for s in paused} == {2}
    assert all(s.action is None for s in paused)
    assert rig.reports.telemetry[3].paused and rig.reports.telemetry[3].phase == "paused"
    assert rig.clock.t == pytest.approx(0.9)  # 5 frames + 4 paused steps


def test_emergency_stop_cuts_torque_discards_the_episode_and_runs_no_further_step():
    rig = Rig(episodes=2)
    rig.press(0.25, m.EmergencyStop())
    assert rig.run() == "emergency_stop"
    assert rig.robot.calls == ["emergency_stop@0.30"]
    assert rig.frames.log == [("discard", 3)]
    assert [e.reason for e in rig.reports.of(m.EpisodeDiscarded)] == ["emergency_stop"]
    assert rig.steps()[-1].frame_index == 2


def test_emergency_stop_during_reset_ends_the_session_as_an_emergency_stop():
    rig = Rig(episodes=2)
    rig.press(0.55, m.EmergencyStop())
    assert rig.run() == "emergency_stop"
    assert rig.frames.log == [("save", 5)]
    assert rig.robot.calls == ["emergency_stop@0.60"]


def test_teleop_keys_reach_the_action_source():
    rig = Rig(episodes=1)
    rig.press(0.15, m.TeleopKey("w"))
    rig.press(0.15, m.TeleopKey("w", pressed=False))
    rig.run()
    assert rig.actions.keys == ["w", "w"]


def test_a_robot_silent_for_a_while_is_reported_once_and_its_steps_say_so():
    rig = Rig(episodes=1)
    rig.robot.silent_between = (0.15, 0.45)
    assert rig.run() == "completed"
    faults = rig.reports.of(m.DeviceFault)
    assert [(f.recovered, round(f.at, 2)) for f in faults] == [(False, 0.2), (True, 0.5)]
    assert faults[0].device == "so101_follower 'arm'"
    silent = [s for s in rig.steps() if not s.robot_connected]
    assert [round(s.t, 2) for s in silent] == [0.2, 0.3, 0.4]
    assert all(s.observation == {} and s.action is None for s in silent)
    assert rig.frames.log == [("save", 5)]  # the silent steps did not count as frames
    assert rig.reports.telemetry[2].servos[0].status == "silent"


def test_a_robot_silent_longer_than_the_limit_ends_the_session():
    rig = Rig(episodes=1, episode_s=10)
    rig.robot.silent_between = (0.15, 99)
    with pytest.raises(SessionFault, match="so101_follower 'arm' stopped answering"):
        rig.run()
    # the first failure at 0.2; the first observation more than the limit later ends it
    assert rig.clock.t == pytest.approx(0.2 + FAULT_LIMIT_S + PERIOD)


def test_an_overrun_step_counts_the_skipped_deadline_and_the_next_steps_lateness():
    rig = Rig(episodes=1)
    rig.robot.slow_send[0.2] = 0.25  # the step at 0.2 ends at 0.45
    rig.run()
    steps = rig.steps()
    assert [round(s.t, 2) for s in steps] == [0.0, 0.1, 0.2, 0.45, 0.5]
    assert steps[3].lateness_s == pytest.approx(0.05)  # the 0.3 deadline was skipped
    assert steps[3].period_s == pytest.approx(0.25)
    assert rig.loop.deadlines.missed == 1
    assert rig.reports.telemetry[-1].timing.missed_deadlines == 1
    assert steps[2].sections_ms["send"] == pytest.approx(250)


def test_a_stall_between_phases_shows_as_the_next_steps_lateness_and_a_missed_deadline():
    rig = Rig(episodes=2)
    rig.frames.on_save = lambda: rig.clock.spend(0.15)  # a save that blocks the loop
    rig.run()
    first_reset = rig.steps("reset")[0]
    assert first_reset.lateness_s == pytest.approx(0.15)
    assert rig.loop.deadlines.missed == 0
    assert rig.reports.telemetry[5].timing.missed_deadlines == 1
    assert rig.reports.telemetry[5].timing.lateness_ms[-1] == pytest.approx(150)


def test_an_overheating_servo_is_reported_once_until_it_cools_down():
    rig = Rig(episodes=2)
    rig.clock.at(0.15, lambda: setattr(rig.robot, "temperature", 70.0))
    rig.clock.at(0.35, lambda: setattr(rig.robot, "temperature", 40.0))
    rig.clock.at(0.65, lambda: setattr(rig.robot, "temperature", 71.0))
    rig.run()
    assert rig.reports.hot == ["wrist", "wrist"]


def test_a_key_that_comes_as_the_episode_ends_adds_no_frame_past_its_time():
    rig = Rig(episodes=1)
    rig.press(0.45, m.ExitEarly())  # after the 5th and last frame (0.4), before 0.5
    rig.run()
    assert rig.frames.log == [("save", 5)]


def test_marking_while_recording_ends_the_episode_with_that_outcome():
    rig = Rig(episodes=2)
    rig.press(0.25, m.MarkOutcome("success"))
    rig.run()
    assert rig.frames.log == [("save", 4, "success"), ("save", 5)]
    assert [s.event for s in rig.steps("recording")[:4]] == ["episode_start", "", "", "success"]


def test_marking_during_the_reset_judges_the_episode_just_saved():
    rig = Rig(episodes=2)
    rig.press(0.6, m.MarkOutcome("failure"))
    rig.run()
    assert rig.frames.log == [("save", 5), ("mark", "failure"), ("save", 5)]
    assert [s.event for s in rig.steps("reset")] == ["", "failure", ""]
    assert rig.clock.t == pytest.approx(0.5 + 0.3 + 0.5)  # the reset kept its length


def test_the_outcome_prompt_holds_each_reset_the_last_one_too_until_an_answer():
    rig = Rig(episodes=2, prompt=True)
    rig.press(2.0, m.MarkOutcome("success"))  # long after the 0.3 s reset
    rig.press(3.0, m.MarkOutcome("failure"))
    assert rig.run() == "completed"
    assert rig.frames.log == [("save", 5), ("mark", "success"), ("save", 5), ("mark", "failure")]
    assert rig.reports.phases() == [("recording", 0), ("reset", 1), ("recording", 1), ("reset", 2)]
    assert [e.episode_index for e in rig.reports.of(m.OutcomeAsked)] == [0, 1]
    assert rig.clock.t == pytest.approx(3.0 + 0.1)  # the mark gets its own step
    assert any(t.awaiting_outcome for t in rig.reports.telemetry)
    assert not rig.reports.telemetry[-1].awaiting_outcome


def test_an_unanswered_outcome_prompt_times_out_and_the_episode_stays_unmarked():
    rig = Rig(episodes=2, prompt=True, wait=0.4)
    rig.press(1.0, m.MarkOutcome("success"))  # within the wait after episode 0's reset
    assert rig.run() == "completed"
    assert rig.frames.log == [("save", 5), ("mark", "success"), ("save", 5)]
    assert [e.wait_s for e in rig.reports.of(m.OutcomeAsked)] == [0.4, 0.4]
    warnings = [e.message for e in rig.reports.of(m.WarningRaised)]
    assert len(warnings) == 1 and warnings[0].startswith("episode 1: no outcome within 0.4 s")
    # reset 0 ends on the mark's step; the last reset: its one step, then the 0.4 s wait
    assert rig.clock.t == pytest.approx(1.0 + 0.1 + 0.5 + 0.1 + 0.4)


def test_the_outcome_prompt_asks_nothing_about_an_episode_ended_by_marking_it():
    rig = Rig(episodes=1, prompt=True)
    rig.press(0.2, m.MarkOutcome("success"))
    rig.run()
    assert rig.frames.log == [("save", 3, "success")]
    assert rig.reports.of(m.OutcomeAsked) == [] and rig.reports.phases() == [("recording", 0)]


class FlakyRobot(FakeRobot):
    """A robot on a flaky cable: every read needs a retry, which saves it."""

    def take_recoveries(self) -> list[str]:
        return ["servo wrist (id 5) on /dev/x did not answer for 50 ms (a sync read)"]


def test_a_servo_a_retry_saves_is_said_at_once_then_at_most_once_a_second():
    rig = Rig(episodes=1, episode_s=2.5, reset_s=0.0)
    rig.robot = FlakyRobot(rig.clock)
    rig.loop.rig = FakeRig(rig.robot)
    assert rig.run() == "completed"
    said = rig.reports.of(m.DeviceFault)
    assert said and said[0].at == 0.0 and said[0].recovered  # the first step's, at once
    assert "wrist (id 5)" in said[0].message and "more retried" not in said[0].message
    gaps = [b.at - a.at for a, b in zip(said, said[1:], strict=False)]
    assert len(said) == 3 and all(gap >= 1.0 - 1e-9 for gap in gaps), [f.at for f in said]
    unsaid = [int(f.message.rsplit("(", 1)[1].split()[0]) for f in said[1:]]
    assert all(n >= FPS - 1 for n in unsaid), unsaid  # a second's retries, counted not said
    assert all(f.message.endswith("more retried since the last notice)") for f in said[1:])
