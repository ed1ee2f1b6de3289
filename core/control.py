"""The control thread: episodes and reset phases, one step per period.

Per step: observe → action (policy or teleop, or hold) → safety clamp and send (the robot does
the clamp) → hand the frame to the recorder → publish telemetry and the step record. Nothing here
touches the disk, encodes, runs a model forward (in async mode), prints or waits on another
thread; those jobs belong to the recorder's encoders and saver, the policy worker, the log writer
and the voice worker, each behind a queue.
"""

from __future__ import annotations

import logging
import queue
import time
from typing import Any, Protocol

import numpy as np

from core import messages as m
from core.plan import Phase, PhasePlan, PhaseResult
from core.score import Score
from core.step import ControlStep, PolicyStep
from core.telemetry import TEMPERATURE_FAULT_C, depth_thumbnail, servo_rows, thumbnail
from core.timing import Clock, Deadlines, MonotonicClock, Window
from hardware.base import Camera, KnowsJointRanges, ReportsRecoveries, Robot
from hardware.errors import CameraLost, DeviceError
from hardware.feetech.bus import ServoFault

log = logging.getLogger(__name__)

FAULT_LIMIT_S = 1.0  # a robot that fails to answer this long ends the session
THUMB_EVERY_S = 0.1
RECOVERY_SAID_EVERY_S = 1.0  # a servo a retry saved is said at once, then at most this often

Observation = dict[str, Any]
Action = dict[str, float]


class SessionFault(Exception):
    """A device stopped answering for good; the session ends, saved episodes stay."""


# ---- the loop's collaborators ----------------------------------------------------------------


class Rig(Protocol):
    """The robot and what the loop needs to know about it (`core.devices.Devices` is one)."""

    @property
    def robot(self) -> Robot: ...
    @property
    def robot_label(self) -> str: ...
    @property
    def motors(self) -> list[str]: ...
    @property
    def action_names(self) -> list[str]: ...
    @property
    def cameras(self) -> dict[str, Camera]: ...


class ActionSource(Protocol):
    """Where actions come from: the policy, the teleoperator, or nothing (hold)."""

    def start_episode(self, observation: Observation | None) -> None: ...

    def choose(
        self, phase: Phase, observation: Observation
    ) -> tuple[Action | None, str, PolicyStep | None]:
        """(action or None to hold, its source "policy" | "teleop" | "hold", the policy's step)"""
        ...

    def key(self, key: m.TeleopKey) -> None: ...


class FrameSink(Protocol):
    """Where recorded frames go: the dataset recorder (saves run on its own threads)."""

    awaiting_outcome: bool  # the episode saved last has no outcome yet

    def phase_started(self, phase: Phase) -> None:
        """Every phase, before its first step (a rollout's frames go by the phase)."""
        ...

    def start_episode(self) -> None: ...
    def add(self, observation: Observation, action: Action) -> None: ...
    def between_steps(self) -> None:
        """Right after every step: a moment for work that must not delay one (it is short)."""
        ...

    def save_episode(self, outcome: str | None = None) -> None: ...
    def mark_outcome(self, outcome: str, episode: int | None = None) -> int | None:
        """Mark the episode saved last (or `episode`, saved earlier); its index, or None when
        there is none."""
        ...

    def discard_episode(self) -> None: ...
    def remove_last_episode(self) -> bool: ...
    @property
    def episodes_saved(self) -> int: ...
    @property
    def dropped_frames(self) -> int: ...
    @property
    def encoder_backlog(self) -> int: ...


class Reports(Protocol):
    """Where the loop says what happens: events, telemetry snapshots, step records."""

    def emit(self, event: m.Event) -> None: ...
    def publish(self, telemetry: m.Telemetry) -> None: ...
    def step_done(self, step: ControlStep) -> None: ...
    def active_warnings(self) -> tuple[str, ...]: ...
    def overheating(self, motor: str, temperature: float) -> None: ...
    @property
    def score(self) -> Score:
        """The outcomes of this session's saved episodes."""
        ...

    def push_dataset(self, asked: bool) -> None:
        """A rollout strategy's push to the Hub (`asked`: a key pressed for it); never waits."""
        ...


# ---- the loop --------------------------------------------------------------------------------


class ControlLoop:
    """Owns timing and the running of phases; the plan decides the phases, the `Session` builds
    this around its devices, recorder and reports."""

    def __init__(
        self,
        rig: Rig,
        actions: ActionSource,
        frames: FrameSink,
        reports: Reports,
        plan: PhasePlan,
        *,
        fps: float,
        task: str,
        clock: Clock | None = None,
        t0: float | None = None,
        outcome_prompt: bool = False,
        outcome_wait_s: float = 0.0,
    ):
        self.rig = rig
        self.actions = actions
        self.frames = frames
        self.reports = reports
        self.plan = plan
        self.fps = fps
        self.task = task
        self.clock = clock or MonotonicClock()
        self.period_s = 1.0 / fps
        self.commands: queue.SimpleQueue = queue.SimpleQueue()
        self.t0 = self.clock.now() if t0 is None else t0
        self.deadlines = Deadlines(self.period_s, self.clock)
        self.step_index = 0
        self.paused = False
        self.emergency = False
        self._episode = 0
        self._fault_since: float | None = None
        self._last_obs: Observation | None = None
        self._last_action: Action | None = None
        self._last_thumbs: tuple[m.CameraThumb, ...] = ()
        self._next_thumbs = 0.0
        self._prev_start: float | None = None
        self._windows = {k: Window() for k in ("period", "lateness", "inference", "camera_age")}
        self._late_steps = 0
        self._saved_frames = 0  # length of the episode saved last (re-record in its reset)
        self._policy_lost: str | None = None  # why the policy's server cannot be reached
        self._hot: set[str] = set()
        self._joint_limits: dict[str, tuple[float, float]] | None = None
        self._recovery_said_at = -RECOVERY_SAID_EVERY_S
        self._recoveries_unsaid = 0
        self.outcome_prompt = outcome_prompt  # a reset lasts until the episode is judged
        self.outcome_wait_s = outcome_wait_s  # ... or this long past its own time
        self._marked: str | None = None  # an outcome marked since the last step (its event)
        self.priority = ""  # how the control thread is scheduled (core.priority), for the console

    def now(self) -> float:
        """Seconds since the session started (event times)."""
        return self.clock.now() - self.t0

    # ---- the session's shape ---------------------------------------------------------------

    def run(self) -> str:
        """Run the plan's phases; return why the session ended."""
        stopped = False
        while (phase := self.plan.next()) is not None:
            self._begin(phase)
            result = self._phase(phase)
            stopped = stopped or result.outcome == "stop"
            self._apply(phase, result, self.plan.end(phase, result))
            if self.emergency:
                return "emergency_stop"
        return "stopped" if stopped else "completed"

    def _begin(self, phase: Phase) -> None:
        self._episode = phase.episode
        self.frames.phase_started(phase)
        if phase.records or phase.policy_drives:
            if self._last_obs is None:
                self._observe()
        if phase.records:
            self.frames.start_episode()
        if phase.policy_drives:
            # With a policy this computes the first chunk before the phase's first step (a
            # rollout's policy starts again from the present pose after a human drove).
            self.actions.start_episode(self._last_obs)
        self.reports.emit(m.PhaseChanged(self.now(), phase.name, phase.episode))
        if phase.records:
            self.reports.emit(m.EpisodeStarted(self.now(), phase.episode, self.task))
            self.deadlines.restart()

    def _apply(self, phase: Phase, result: PhaseResult, verdict: str) -> None:
        if verdict in ("save", "save_push"):
            self.frames.save_episode(result.marked)
            if self.outcome_prompt and result.marked is None:
                self.reports.emit(m.OutcomeAsked(self.now(), phase.episode, self.outcome_wait_s))
            self._saved_frames = result.frames
        if verdict in ("save_push", "push"):  # after the save: it waits for the saver
            self.reports.push_dataset(asked=verdict == "push")
        elif verdict == "discard":
            self.frames.discard_episode()
            self.reports.emit(
                m.EpisodeDiscarded(self.now(), phase.episode, result.frames, result.outcome)
            )
        elif verdict == "unsave" and self.frames.remove_last_episode():
            # The operator wants the episode just recorded done again.
            self.plan.removed()
            self.reports.emit(
                m.EpisodeDiscarded(self.now(), phase.episode - 1, self._saved_frames, "rerecord")
            )

    # ---- one phase -------------------------------------------------------------------------

    def _phase(self, phase: Phase) -> PhaseResult:
        """Run steps until the phase's time is up or a command ends it.

        A command that ends the phase still gets one last step, marked with what happened
        (`episode_end`, `rerecord`, `stop`), so the logs show every ending; an emergency stop
        gets none, nor does a command that comes once the phase's time is up (an episode is
        never longer than `episode_time_s`).
        """
        total = max(1, round(phase.duration_s * self.fps))
        frames = 0
        while True:
            lateness = self.deadlines.wait()
            start = self.clock.now()
            ending = self._handle_commands(phase)
            if ending is not None and (ending.outcome == "emergency_stop" or frames >= total):
                ending.frames = frames  # no step after an e-stop, nor past the phase's time
                return ending
            time_up = frames >= total and self._marked is None  # a mark gets its own step
            if ending is None and time_up and not self._holds_for_outcome(phase, frames - total):
                return PhaseResult("done", frames)
            event = self._step_event(phase, frames, total, ending)
            if self._step(phase, frames, total, lateness, start, event):
                frames += 1
            self.frames.between_steps()
            self.deadlines.advance()
            if ending is not None:
                ending.frames = frames
                return ending

    def _awaiting_outcome(self, phase: Phase) -> bool:
        return self.outcome_prompt and not phase.records and self.frames.awaiting_outcome

    def _holds_for_outcome(self, phase: Phase, overtime: int) -> bool:
        """`--dataset.outcome_prompt=true`: a reset lasts until the episode before it is marked,
        at most `outcome_wait_s` past its own time (`overtime` steps so far); then the episode
        stays unmarked, said once."""
        if not self._awaiting_outcome(phase):
            return False
        if overtime < round(self.outcome_wait_s * self.fps):
            return True
        self.reports.emit(
            m.WarningRaised(
                self.now(),
                f"episode {phase.episode - 1}: no outcome within {self.outcome_wait_s:g} s "
                "after the reset; it stays unmarked (lerecord edit … label marks it later)",
            )
        )
        return False

    def _step_event(self, phase: Phase, frames: int, total: int, ending: PhaseResult | None) -> str:
        marked, self._marked = self._marked, None
        if ending is not None and ending.marked is not None:
            return ending.marked  # the episode's last step, ended by marking it
        if marked is not None:
            return marked  # marked during the reset
        if ending is not None:
            if ending.outcome in ("rerecord", "stop"):
                return ending.outcome
            return "episode_end" if phase.records else ""
        if not phase.records:
            return ""
        if frames == 0:
            return "episode_start"
        return "episode_end" if frames == total - 1 else ""

    def _handle_commands(self, phase: Phase) -> PhaseResult | None:
        while True:
            try:
                cmd = self.commands.get_nowait()
            except queue.Empty:
                return None
            if isinstance(cmd, m.ExitEarly):
                return PhaseResult("exit_early", 0)
            if isinstance(cmd, m.MarkOutcome) and cmd.episode_index is not None:
                self.frames.mark_outcome(cmd.outcome, cmd.episode_index)  # from the review
            elif isinstance(cmd, m.MarkOutcome):
                if phase.records:
                    return PhaseResult("exit_early", 0, marked=cmd.outcome)
                if self.frames.mark_outcome(cmd.outcome) is None:
                    self.reports.emit(
                        m.WarningRaised(self.now(), f"no saved episode to mark as {cmd.outcome}")
                    )
                else:
                    self._marked = cmd.outcome
            if isinstance(cmd, m.Rerecord):
                return PhaseResult("rerecord", 0)
            if isinstance(cmd, m.Stop):
                return PhaseResult("stop", 0, save_current=cmd.save_current)
            if isinstance(cmd, m.EmergencyStop):
                self.rig.robot.emergency_stop()
                self.emergency = True
                return PhaseResult("emergency_stop", 0)
            if isinstance(cmd, m.Pause) and not self.paused:
                self.paused = True
                self.rig.robot.hold()
                self.reports.emit(m.PhaseChanged(self.now(), "paused", phase.episode))
            elif isinstance(cmd, m.Resume) and self.paused:
                self.paused = False
                self.reports.emit(m.PhaseChanged(self.now(), phase.name, phase.episode))
            elif isinstance(cmd, m.TeleopKey):
                self.actions.key(cmd)
            elif isinstance(cmd, m.StrategyKey) and cmd.action == "pause":
                self.commands.put(m.Resume() if self.paused else m.Pause())
            elif isinstance(cmd, m.StrategyKey):  # a rollout strategy's key ends the phase
                return PhaseResult(cmd.action, 0)

    # ---- one step --------------------------------------------------------------------------

    def _step(
        self, phase: Phase, frame: int, total: int, lateness: float, start: float, event: str
    ) -> bool:
        """Run one control step; return True when it advanced the phase clock (not paused, and
        the robot answered)."""
        period = 0.0 if self._prev_start is None else start - self._prev_start
        self._prev_start = start
        sections: dict[str, float] = {}

        obs = self._observe()
        t1 = self.clock.now()
        sections["observe"] = (t1 - start) * 1e3
        if obs is None:
            self._record_step(phase, frame, start, period, lateness, None, None, "hold", None, "")
            self._publish(phase, frame, total, None, "hold", None, lateness, period, sections)
            return False

        action, source, policy_step = (None, "hold", None)
        if not self.paused:
            action, source, policy_step = self.actions.choose(phase, obs)
            if policy_step is not None and policy_step.link_error != self._policy_lost:
                self._policy_link(policy_step.link_error)
        t2 = self.clock.now()
        sections["action"] = (t2 - t1) * 1e3

        sent = None
        if action is not None:
            sent = self.rig.robot.send_action(action)
            self._last_action = sent
        t3 = self.clock.now()
        sections["send"] = (t3 - t2) * 1e3

        if (phase.records or phase.buffers) and not self.paused:
            self.frames.add(obs, action if action is not None else self._hold_action(obs))
        sections["record"] = (self.clock.now() - t3) * 1e3

        self._record_step(
            phase, frame, start, period, lateness, obs, sent, source, policy_step, event, sections
        )
        self._publish(phase, frame + 1, total, obs, source, policy_step, lateness, period, sections)
        return not self.paused

    def _policy_link(self, lost: str | None) -> None:
        """Tell the operator once when the policy's server is lost (the arm holds meanwhile)
        and once when it answers again, the policy set up again."""
        if lost is None or self._policy_lost is None:
            text = lost or "answering again, policy set up again"
            self.reports.emit(m.DeviceFault(self.now(), "policy server", text, lost is None))
        self._policy_lost = lost

    def _record_step(
        self,
        phase: Phase,
        frame: int,
        start: float,
        period: float,
        lateness: float,
        obs: Observation | None,
        sent: Action | None,
        source: str,
        policy_step: PolicyStep | None,
        event: str,
        sections: dict[str, float] | None = None,
    ) -> None:
        """Hand the step's record to the logs (a step where the robot did not answer too)."""
        self.reports.step_done(
            ControlStep(
                step=self.step_index,
                t=start - self.t0,
                wall_time=time.time(),
                episode_index=phase.episode,
                frame_index=frame,
                phase=phase.name,
                period_s=period,
                lateness_s=lateness,
                observation={}
                if obs is None
                else {k: v for k, v in obs.items() if not isinstance(v, np.ndarray)},
                action=sent,
                source=source,
                robot_connected=obs is not None,
                policy=policy_step,
                event=event,
                task=self.task,
                sections_ms=dict(sections or {}),
            )
        )
        self.step_index += 1

    def _observe(self) -> Observation | None:
        label = self.rig.robot_label
        try:
            obs = self.rig.robot.get_observation()
        except DeviceError as error:
            now = self.clock.now()
            if self._fault_since is None:
                self._fault_since = now
                self.reports.emit(m.DeviceFault(self.now(), label, str(error), recovered=False))
            elif now - self._fault_since > FAULT_LIMIT_S:
                raise SessionFault(f"{label} {_what_failed(error)}: {error}") from error
            return None
        if self._fault_since is not None:
            self._fault_since = None
            self.reports.emit(m.DeviceFault(self.now(), label, "answering again", recovered=True))
        if isinstance(self.rig.robot, ReportsRecoveries):
            self._say_recoveries(label, self.rig.robot.take_recoveries())
        self._last_obs = obs
        return obs

    def _say_recoveries(self, label: str, recovered: list[str]) -> None:
        """Each exchange a retry saved, said at once; a flaky cable's stream of them at most
        once a second, with the count of those not said."""
        now = self.clock.now()
        for text in recovered:
            if now - self._recovery_said_at < RECOVERY_SAID_EVERY_S:
                self._recoveries_unsaid += 1
                continue
            if self._recoveries_unsaid:
                text += f" ({self._recoveries_unsaid} more retried since the last notice)"
            self._recovery_said_at, self._recoveries_unsaid = now, 0
            self.reports.emit(m.DeviceFault(self.now(), label, text, recovered=True))

    def _hold_action(self, obs: Observation) -> Action:
        if self._last_action is not None:
            return self._last_action
        return {k: float(obs[k]) for k in self.rig.action_names if k in obs}

    # ---- telemetry -------------------------------------------------------------------------

    def _publish(
        self,
        phase: Phase,
        frame: int,
        total: int,
        obs: Observation | None,
        source: str,
        policy_step: PolicyStep | None,
        lateness: float,
        period: float,
        sections: dict[str, float],
    ) -> None:
        w = self._windows
        if period > 0:
            w["period"].add(period * 1e3)
        w["lateness"].add(lateness * 1e3)
        if lateness > self.period_s:
            self._late_steps += 1
        if policy_step is not None:
            w["inference"].add(policy_step.inference_ms)
        now = self.clock.now()
        if now >= self._next_thumbs and obs is not None:
            self._next_thumbs = now + THUMB_EVERY_S
            self._last_thumbs, age = self._thumbs(now)
            if age is not None:
                w["camera_age"].add(age)
        periods = w["period"].values()
        mean_period = sum(periods[-30:]) / len(periods[-30:]) if periods else 0.0
        action = self._last_action or {}
        servos = servo_rows(self.rig.motors, obs, action, self._limits())
        self._watch_temperatures(servos)
        self.reports.publish(
            m.Telemetry(
                phase="paused" if self.paused else phase.name,
                episode_index=phase.episode,
                num_episodes=self.plan.target,
                episodes_saved=self.frames.episodes_saved,
                frame_index=frame,
                step=self.step_index,
                phase_elapsed_s=frame * self.period_s,
                phase_duration_s=total * self.period_s,
                servos=servos,
                action=tuple((k, float(v)) for k, v in action.items()),
                action_source=source,
                policy=policy_step,
                task=self.task,
                timing=m.Timing(
                    period_ms=periods,
                    lateness_ms=w["lateness"].values(),
                    inference_ms=w["inference"].values(),
                    camera_age_ms=w["camera_age"].values(),
                    sections_ms=tuple(sections.items()),
                    achieved_hz=1e3 / mean_period if mean_period > 0 else 0.0,
                    missed_deadlines=self.deadlines.missed + self._late_steps,
                    dropped_frames=self.frames.dropped_frames,
                    priority=self.priority,
                ),
                cameras=self._last_thumbs,
                encoder_backlog=self.frames.encoder_backlog,
                paused=self.paused,
                warnings=self.reports.active_warnings(),
                score=self.reports.score,
                awaiting_outcome=self._awaiting_outcome(phase),
                torque="off" if self.emergency else "on",
            )
        )

    def _limits(self) -> dict[str, tuple[float, float]]:
        """The robot's calibrated joint ranges, asked once (the calibration holds all session)."""
        if self._joint_limits is None:
            robot = self.rig.robot
            self._joint_limits = {}
            if isinstance(robot, KnowsJointRanges):
                try:
                    self._joint_limits = robot.joint_ranges()
                except DeviceError as error:  # not connected: drawn against nominal ranges
                    log.debug("joint ranges: %s", error)
        return self._joint_limits

    def _watch_temperatures(self, servos: tuple[m.ServoRow, ...]) -> None:
        """Warn (and say so) once each time a servo gets too hot."""
        for row in servos:
            hot = row.temperature is not None and row.temperature >= TEMPERATURE_FAULT_C
            if hot and row.name not in self._hot:
                self._hot.add(row.name)
                self.reports.overheating(row.name, row.temperature)
            elif not hot and row.temperature is not None:
                self._hot.discard(row.name)

    def _thumbs(self, now: float) -> tuple[tuple[m.CameraThumb, ...], float | None]:
        thumbs, oldest = [], None
        for name, camera in self.rig.cameras.items():
            try:
                frame = camera.read_latest()
                depth = camera.read_latest_depth() if camera.depth_shape is not None else None
            except DeviceError:
                continue  # the observation step reports the lost camera
            if frame is not None:
                age_ms = (now - frame.captured_at) * 1e3
                oldest = age_ms if oldest is None else max(oldest, age_ms)
                thumbs.append(thumbnail(name, frame.image, age_ms))
            if depth is not None:
                age_ms = (now - depth.captured_at) * 1e3
                thumbs.append(depth_thumbnail(f"{name}_depth", depth.image, age_ms))
        return tuple(thumbs), oldest


def _what_failed(error: DeviceError) -> str:
    """How a device failed for good, in words: a servo's error bits (overheating, overload) are
    not silence, nor is a lost camera."""
    if isinstance(error, ServoFault):
        return "reports a servo fault"
    if isinstance(error, CameraLost):
        return "lost a camera"
    return "stopped answering"
