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
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core import messages as m
from core.step import ControlStep
from core.telemetry import TEMPERATURE_FAULT_C, servo_rows, thumbnail
from core.timing import Deadlines, Window
from hardware.errors import DeviceError

log = logging.getLogger(__name__)

FAULT_LIMIT_S = 1.0  # a robot that fails to answer this long ends the session
THUMB_EVERY_S = 0.1


class SessionFault(Exception):
    """A device stopped answering for good; the session ends, saved episodes stay."""


@dataclass
class PhaseResult:
    outcome: str  # "done" | "exit_early" | "rerecord" | "stop" | "emergency_stop"
    frames: int
    save_current: bool = False


class ControlLoop:
    """Owns timing and phases; the `Session` owns the devices and builds this around them."""

    def __init__(self, session, clock: Callable[[], float] = time.monotonic):
        self.s = session
        self.cfg = session.config.dataset
        self.clock = clock
        self.period_s = 1.0 / self.cfg.fps
        self.commands: queue.SimpleQueue = queue.SimpleQueue()
        self.deadlines: Deadlines | None = None
        self.t0 = clock()
        self.step_index = 0
        self.paused = False
        self.stopping = False
        self.emergency = False
        self._fault_since: float | None = None
        self._last_obs: dict | None = None
        self._last_action: dict[str, float] | None = None
        self._last_thumbs: tuple[m.CameraThumb, ...] = ()
        self._next_thumbs = 0.0
        self._prev_start: float | None = None
        self._windows = {k: Window() for k in ("period", "lateness", "inference", "camera_age")}
        self._late_steps = 0
        self._hot: set[str] = set()

    # ---- the session's shape ---------------------------------------------------------------

    def run(self) -> str:
        """Record every episode; return why the session ended."""
        s, cfg = self.s, self.cfg
        self.deadlines = Deadlines(self.period_s, clock=self.clock)
        recorded = 0
        episode = s.first_episode
        while recorded < cfg.num_episodes and not self.stopping:
            if self._last_obs is None:
                self._observe()
            # With a policy this computes the first chunk before the episode's first frame.
            s.begin_episode(episode, self._last_obs)
            self.deadlines.restart()
            result = self._phase("recording", cfg.episode_time_s, episode)
            if result.outcome == "emergency_stop":
                s.discard_episode(episode, result.frames, "emergency_stop")
                return "emergency_stop"
            if result.outcome == "rerecord":
                s.discard_episode(episode, result.frames, "rerecord")
                if not self.stopping:
                    self._reset(episode)
                continue
            if result.outcome == "stop" and not result.save_current:
                s.discard_episode(episode, result.frames, "stop")
                break
            if result.frames > 0:
                s.save_episode(episode, result.frames)
                recorded += 1
                episode += 1
            if self.stopping or recorded >= cfg.num_episodes:
                break
            if self._reset(episode) == "rerecord":
                # The operator wants the episode just recorded done again.
                if s.remove_last_episode(episode - 1, result.frames):
                    recorded -= 1
                    episode -= 1
        return "stopped" if self.stopping else "completed"

    def _reset(self, next_episode: int) -> str:
        if self.cfg.reset_time_s <= 0:
            return "done"
        self.s.begin_reset(next_episode)
        result = self._phase("reset", self.cfg.reset_time_s, next_episode)
        if result.outcome == "emergency_stop":
            self.stopping = True
        return result.outcome

    # ---- one phase -------------------------------------------------------------------------

    def _phase(self, phase: str, duration_s: float, episode: int) -> PhaseResult:
        """Run steps until the phase's time is up or a command ends it.

        A command that ends the phase still gets one last step, marked with what happened
        (`episode_end`, `rerecord`, `stop`), so the logs show every ending; an emergency stop
        gets none.
        """
        total = max(1, round(duration_s * self.cfg.fps))
        frames = 0
        while True:
            lateness = self.deadlines.wait()
            start = self.clock()
            ending = self._handle_commands(phase, frames)
            if ending is not None and ending.outcome == "emergency_stop":
                return ending
            if ending is None and frames >= total:
                return PhaseResult("done", frames)
            event = self._step_event(phase, frames, total, ending)
            if self._step(phase, episode, frames, total, lateness, start, event):
                frames += 1
            self.deadlines.advance()
            if ending is not None:
                ending.frames = frames
                return ending

    @staticmethod
    def _step_event(phase: str, frames: int, total: int, ending: PhaseResult | None) -> str:
        if ending is not None:
            if ending.outcome in ("rerecord", "stop"):
                return ending.outcome
            return "episode_end" if phase == "recording" else ""
        if phase != "recording":
            return ""
        if frames == 0:
            return "episode_start"
        return "episode_end" if frames == total - 1 else ""

    def _handle_commands(self, phase: str, frames: int) -> PhaseResult | None:
        while True:
            try:
                cmd = self.commands.get_nowait()
            except queue.Empty:
                return None
            if isinstance(cmd, m.ExitEarly):
                return PhaseResult("exit_early", frames)
            if isinstance(cmd, m.Rerecord):
                return PhaseResult("rerecord", frames)
            if isinstance(cmd, m.Stop):
                self.stopping = True
                return PhaseResult("stop", frames, save_current=cmd.save_current)
            if isinstance(cmd, m.EmergencyStop):
                self.s.robot_emergency_stop()
                self.stopping = self.emergency = True
                return PhaseResult("emergency_stop", frames)
            if isinstance(cmd, m.Pause) and not self.paused:
                self.paused = True
                self.s.robot_hold()
                self.s.emit(m.PhaseChanged(self.s.now(), "paused", self.s.episode_index))
            elif isinstance(cmd, m.Resume) and self.paused:
                self.paused = False
                self.s.emit(m.PhaseChanged(self.s.now(), phase, self.s.episode_index))
            elif isinstance(cmd, m.TeleopKey):
                self.s.teleop_key(cmd)

    # ---- one step --------------------------------------------------------------------------

    def _step(
        self,
        phase: str,
        episode: int,
        frame: int,
        total: int,
        lateness: float,
        start: float,
        event: str,
    ) -> bool:
        """Run one control step; return True when it advanced the phase clock (not paused)."""
        s = self.s
        period = 0.0 if self._prev_start is None else start - self._prev_start
        self._prev_start = start
        sections: dict[str, float] = {}

        obs = self._observe()
        t1 = self.clock()
        sections["observe"] = (t1 - start) * 1e3
        if obs is None:
            self._publish(
                phase, episode, frame, total, None, "hold", None, lateness, period, sections
            )
            return False

        action, source, policy_step = (None, "hold", None)
        if not self.paused:
            action, source, policy_step = s.choose_action(phase, obs)
        t2 = self.clock()
        sections["action"] = (t2 - t1) * 1e3

        sent = None
        if action is not None:
            sent = s.robot.send_action(action)
            self._last_action = sent
        t3 = self.clock()
        sections["send"] = (t3 - t2) * 1e3

        recorded = phase == "recording" and not self.paused
        if recorded:
            s.record_frame(obs, action if action is not None else self._hold_action(obs))
        sections["record"] = (self.clock() - t3) * 1e3

        step = ControlStep(
            step=self.step_index,
            t=start - self.t0,
            wall_time=time.time(),
            episode_index=episode,
            frame_index=frame,
            phase=phase,
            period_s=period,
            lateness_s=lateness,
            observation={k: v for k, v in obs.items() if not isinstance(v, np.ndarray)},
            action=sent,
            source=source,
            policy=policy_step,
            event=event,
            task=self.cfg.single_task,
            sections_ms=sections,
        )
        self.step_index += 1
        s.step_done(step)
        self._publish(
            phase, episode, frame + 1, total, obs, source, policy_step, lateness, period, sections
        )
        return not self.paused

    def _observe(self) -> dict | None:
        s = self.s
        try:
            obs = s.robot.get_observation()
        except DeviceError as error:
            now = self.clock()
            if self._fault_since is None:
                self._fault_since = now
                s.emit(m.DeviceFault(s.now(), s.robot_label, str(error), recovered=False))
            elif now - self._fault_since > FAULT_LIMIT_S:
                raise SessionFault(f"{s.robot_label} stopped answering: {error}") from error
            return None
        if self._fault_since is not None:
            self._fault_since = None
            s.emit(m.DeviceFault(s.now(), s.robot_label, "answering again", recovered=True))
        self._last_obs = obs
        return obs

    def _hold_action(self, obs: dict) -> dict[str, float]:
        if self._last_action is not None:
            return self._last_action
        return {k: float(obs[k]) for k in self.s.action_names if k in obs}

    # ---- telemetry -------------------------------------------------------------------------

    def _publish(
        self, phase, episode, frame, total, obs, source, policy_step, lateness, period, sections
    ):
        s = self.s
        w = self._windows
        if period > 0:
            w["period"].add(period * 1e3)
        w["lateness"].add(lateness * 1e3)
        if lateness > self.period_s:
            self._late_steps += 1
        if policy_step is not None:
            w["inference"].add(policy_step.inference_ms)
        now = self.clock()
        if now >= self._next_thumbs and obs is not None:
            self._next_thumbs = now + THUMB_EVERY_S
            self._last_thumbs, age = self._thumbs(obs, now)
            if age is not None:
                w["camera_age"].add(age)
        periods = w["period"].values()
        mean_period = sum(periods[-30:]) / len(periods[-30:]) if periods else 0.0
        policy = None
        if policy_step is not None:
            policy = m.PolicyStats(
                inference_ms=policy_step.inference_ms,
                forward_ms=policy_step.forward_ms,
                queue_size=policy_step.queue_size,
                output_mean=policy_step.output_mean,
                output_std=policy_step.output_std,
                output_min=policy_step.output_min,
                output_max=policy_step.output_max,
                runs_on=policy_step.runs_on,
                chunk_forward_ms=policy_step.chunk_forward_ms,
            )
        action = self._last_action or {}
        servos = servo_rows(s.motors, obs, action)
        self._watch_temperatures(servos)
        s.publish(
            m.Telemetry(
                phase="paused" if self.paused else phase,
                episode_index=episode,
                num_episodes=s.first_episode + self.cfg.num_episodes,
                episodes_saved=s.episodes_saved,
                frame_index=frame,
                step=self.step_index,
                phase_elapsed_s=frame * self.period_s,
                phase_duration_s=total * self.period_s,
                servos=servos,
                action=tuple((k, float(v)) for k, v in action.items()),
                action_source=source,
                policy=policy,
                task=self.cfg.single_task,
                timing=m.Timing(
                    period_ms=periods,
                    lateness_ms=w["lateness"].values(),
                    inference_ms=w["inference"].values(),
                    camera_age_ms=w["camera_age"].values(),
                    sections_ms=tuple(sections.items()),
                    achieved_hz=1e3 / mean_period if mean_period > 0 else 0.0,
                    missed_deadlines=self.deadlines.missed + self._late_steps,
                    dropped_frames=s.dropped_frames,
                ),
                cameras=self._last_thumbs,
                encoder_backlog=s.encoder_backlog,
                paused=self.paused,
                warnings=s.active_warnings(),
                torque="off" if self.emergency else "on",
            )
        )

    def _watch_temperatures(self, servos: tuple[m.ServoRow, ...]) -> None:
        """Warn (and say so) once each time a servo gets too hot."""
        for row in servos:
            hot = row.temperature is not None and row.temperature >= TEMPERATURE_FAULT_C
            if hot and row.name not in self._hot:
                self._hot.add(row.name)
                self.s.overheating(row.name, row.temperature)
            elif not hot and row.temperature is not None:
                self._hot.discard(row.name)

    def _thumbs(self, obs: dict, now: float) -> tuple[tuple[m.CameraThumb, ...], float | None]:
        thumbs, oldest = [], None
        for name, camera in self.s.robot_cameras.items():
            try:
                frame = camera.read_latest()
            except DeviceError:
                frame = None  # the observation step reports the lost camera
            if frame is None:
                continue
            age_ms = (now - frame.captured_at) * 1e3
            oldest = age_ms if oldest is None else max(oldest, age_ms)
            thumbs.append(thumbnail(name, frame.image, age_ms))
        return tuple(thumbs), oldest
