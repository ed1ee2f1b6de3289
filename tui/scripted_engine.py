"""A scripted stand-in for the session engine, for the console's tests, snapshots and benchmark.

It speaks the engine's interface (`start`, `send`, `snapshot`, `events`, `close`, `finished`) and
plays a recording session from a clock: episodes and resets of fixed length, six servos moving
along smooth curves, camera thumbnails, timing histories. Everything is a pure function of the
clock and the commands received, so with a frozen clock the telemetry is fixed (snapshot tests).
No devices, no threads, no files (except the optional `closed_marker`, which records how the
session ended so a test in another process can check it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core import messages as m
from core.review_edits import PendingEdits
from core.step import OutputStats, PolicyStep

MOTORS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
HISTORY = 60


class ScriptedEngine:
    """Plays `num_episodes` episodes of `episode_time_s`, with `reset_time_s` resets between.

    `scenario`: "normal", "fault" (a silent servo, a hot one, a bus fault in the log), "reset"
    (starts in the reset after the first episode), "policy" (actions come from a policy),
    "saving" (the session is over and its last episode is being written).
    `start_at_s` moves the script forward (for snapshots); `fail_after_s` makes `snapshot()`
    raise, as an engine whose bus went away would.
    """

    def __init__(
        self,
        config: Any = None,
        *,
        scenario: str = "normal",
        fps: int = 30,
        num_episodes: int = 3,
        episode_time_s: float = 8.0,
        reset_time_s: float = 3.0,
        cameras: tuple[str, ...] = ("front", "wrist"),
        start_at_s: float = 0.0,
        fail_after_s: float | None = None,
        closed_marker: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.config = config
        self.scenario = scenario
        self.fps = fps
        self.num_episodes = num_episodes
        self.durations = {"recording": episode_time_s, "reset": reset_time_s}
        self.camera_names = cameras
        self.start_at_s = start_at_s
        self.fail_after_s = fail_after_s
        self.closed_marker = closed_marker
        self.clock = clock
        self.received: list[m.Command] = []
        self.finished = False
        self.error: str | None = None
        self.bad_input = False
        self._events: list[m.Event] = []
        self._review_edits = PendingEdits()  # the review's marks, never applied here
        self._t0 = 0.0
        self._phase = "connecting"
        self._phase_t = 0.0  # script time the phase started
        self._paused_at: float | None = None
        self._episode = 0
        self._saved = 0
        self._closed = False

    # ---- the engine interface

    def start(self) -> None:
        self._t0 = self.clock() - self.start_at_s
        self._emit(
            m.SessionStarted(
                at=0.0,
                robot="so101_follower (scripted)",
                dataset_root="/tmp/lerecord/scripted",
                repo_id="local/scripted",
                num_episodes=self.num_episodes,
                devices=("so101_follower sim", "so101_leader sim")
                + tuple(f"camera {c}" for c in self.camera_names),
                log_dir="inference_logs/scripted",
                sounds=False,
            )
        )
        self._begin("recording", 0.0)
        if self.scenario == "reset":
            self._t0 -= self.durations["recording"]  # the first episode is behind us
            self._finish_episode(self.durations["recording"])
        if self.scenario == "saving":
            self._phase = "saving"
        if self.scenario == "fault":
            self._emit(
                m.DeviceFault(
                    at=0.0,
                    device="follower bus",
                    message="servo 5 (wrist_roll) not answering",
                    recovered=False,
                )
            )
            self._emit(m.WarningRaised(at=0.0, message="elbow_flex at 58 °C (limit 60)"))

    def send(self, command: m.Command) -> None:
        self.received.append(command)
        if self.finished:
            return
        now = self._now()
        if isinstance(command, m.ExitEarly):
            self._end_phase(now)
        elif isinstance(command, m.Rerecord):
            if self._phase == "recording":
                self._discard(now, "rerecord")
            elif self._phase == "reset" and self._saved > 0:
                self._saved -= 1
                self._episode -= 1
                self._emit(
                    m.EpisodeDiscarded(
                        at=now,
                        episode_index=self._episode,
                        frames=self._frames(self.durations["recording"]),
                        reason="rerecord",
                    )
                )
                self._begin("reset", now)
        elif isinstance(command, (m.Stop, m.EmergencyStop)):
            stop = isinstance(command, m.Stop)
            if self._phase == "recording" and stop and command.save_current:
                self._emit(
                    m.EpisodeSaved(
                        at=now,
                        episode_index=self._episode,
                        frames=self._frames(now - self._phase_t),
                        save_s=0.4,
                    )
                )
                self._saved += 1
            elif self._phase == "recording":
                self._emit(
                    m.EpisodeDiscarded(
                        at=now,
                        episode_index=self._episode,
                        frames=self._frames(now - self._phase_t),
                        reason="stop" if stop else "emergency_stop",
                    )
                )
            self._end_session(now, "stopped" if stop else "emergency_stop")
        elif isinstance(command, (m.MarkDeletion, m.EditTask)):
            warning = self._review_edits.change(command, range(self._saved))
            self._emit(m.WarningRaised(now, warning) if warning else self._review_edits.event(now))
        elif isinstance(command, m.Pause) and self._paused_at is None:
            self._paused_at = now
            self._emit(m.PhaseChanged(at=now, phase="paused", episode_index=self._episode))
        elif isinstance(command, m.Resume) and self._paused_at is not None:
            self._phase_t += now - self._paused_at
            self._paused_at = None
            self._emit(m.PhaseChanged(at=now, phase=self._phase, episode_index=self._episode))

    def snapshot(self) -> m.Telemetry:
        now = self._now()
        if self.fail_after_s is not None and now >= self.fail_after_s:
            raise RuntimeError("follower bus on /dev/ttyACM0 stopped answering (unplugged?)")
        self._advance(now)
        return self._telemetry(now)

    def events(self) -> list[m.Event]:
        events, self._events = self._events, []
        return events

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self.finished:
            now = self._now()
            if self._phase == "recording":
                self._emit(
                    m.EpisodeDiscarded(
                        at=now,
                        episode_index=self._episode,
                        frames=self._frames(now - self._phase_t),
                        reason="stop",
                    )
                )
            self._end_session(now, "signal")
        if self.closed_marker:
            Path(self.closed_marker).write_text(f"closed episodes_saved={self._saved}\n")

    # ---- the script

    def _now(self) -> float:
        return self.clock() - self._t0

    def _emit(self, event: m.Event) -> None:
        self._events.append(event)

    def _begin(self, phase: str, now: float) -> None:
        self._phase, self._phase_t = phase, now
        self._emit(m.PhaseChanged(at=now, phase=phase, episode_index=self._episode))
        if phase == "recording":
            self._emit(m.EpisodeStarted(at=now, episode_index=self._episode, task=self._task()))

    def _advance(self, now: float) -> None:
        while not self.finished and self._paused_at is None and self._phase in self.durations:
            end = self._phase_t + self.durations[self._phase]
            if now < end:
                return
            self._end_phase(end)

    def _end_phase(self, at: float) -> None:
        if self._phase == "recording":
            self._finish_episode(at)
        elif self._phase == "reset":
            self._begin("recording", at)

    def _finish_episode(self, at: float) -> None:
        self._emit(
            m.EpisodeSaved(
                at=at,
                episode_index=self._episode,
                frames=self._frames(at - self._phase_t),
                save_s=0.4,
            )
        )
        self._saved += 1
        self._episode += 1
        if self._saved >= self.num_episodes:
            self._end_session(at, "completed")
        else:
            self._begin("reset", at)

    def _discard(self, at: float, reason: str) -> None:
        self._emit(
            m.EpisodeDiscarded(
                at=at,
                episode_index=self._episode,
                frames=self._frames(at - self._phase_t),
                reason=reason,
            )
        )
        self._begin("reset", at)

    def _end_session(self, at: float, reason: str) -> None:
        self._phase = "e-stopped" if reason == "emergency_stop" else "ended"
        self._paused_at = None
        self._emit(
            m.SessionEnded(
                at=at,
                reason=reason,
                episodes_saved=self._saved,
                dataset_root="/tmp/lerecord/scripted",
                torque="off",
            )
        )
        self.finished = True

    def _frames(self, seconds: float) -> int:
        return max(0, int(seconds * self.fps))

    def _task(self) -> str:
        return "Pick up the cube and place it in the box"

    def _telemetry(self, now: float) -> m.Telemetry:
        held = self._paused_at if self._paused_at is not None else now
        elapsed = held - self._phase_t if self._phase in self.durations else 0.0
        step = int(now * self.fps)
        source = "policy" if self.scenario == "policy" else "teleop"
        over = self._phase in ("saving", "ended", "e-stopped")
        if over or self._paused_at is not None:
            source = "hold"
        servos = tuple(self._servo(i, name, now) for i, name in enumerate(MOTORS))
        return m.Telemetry(
            phase=self._phase,
            episode_index=self._episode,
            num_episodes=self.num_episodes,
            episodes_saved=self._saved,
            frame_index=self._frames(elapsed) if self._phase == "recording" else 0,
            step=step,
            phase_elapsed_s=round(elapsed, 3),
            phase_duration_s=self.durations.get(self._phase, 0.0),
            servos=servos,
            action=tuple((f"{s.name}.pos", s.goal or 0.0) for s in servos),
            action_source=source,
            policy=self._policy(step) if self.scenario == "policy" else None,
            task=self._task(),
            timing=self._timing(step),
            cameras=tuple(self._thumb(c, i, now) for i, c in enumerate(self.camera_names)),
            encoder_backlog=(step // 7) % 4 if self._phase == "recording" else 0,
            paused=self._paused_at is not None,
            warnings=("elbow_flex hot (58 °C)",) if self.scenario == "fault" else (),
            torque="off" if self._phase in ("ended", "e-stopped") else "on",
        )

    def _servo(self, i: int, name: str, t: float) -> m.ServoRow:
        if self.scenario == "fault" and name == "wrist_roll":
            return m.ServoRow(name, None, None, None, None, None, None, status="silent")
        position = round(40 * math.sin(0.6 * t + i), 1) if name != "gripper" else 30.0
        goal = round(position + 1.5 * math.cos(2 * t + i), 1)
        hot = self.scenario == "fault" and name == "elbow_flex"
        return m.ServoRow(
            name=name,
            position=position,
            goal=goal,
            load=round(12 * math.sin(t + 2 * i), 1) if not hot else 87.0,
            temperature=58.0 if hot else 31.0 + i,
            voltage=12.1 if i % 2 else 12.0,
            current=round(80 + 20 * i + 10 * math.sin(t), 0),
            status="fault" if hot else "ok" if i != 1 or self.scenario != "fault" else "warn",
        )

    def _policy(self, step: int) -> PolicyStep:
        return PolicyStep(
            inference_ms=0.4 if step % 50 else 38.0,
            forward_ms=None if step % 50 else 37.2,
            queue_size=50 - step % 50,
            inputs={},
            output=OutputStats(mean=0.12, std=0.87, min=-2.1, max=2.4),
            chunk_forward_ms=37.2,
        )

    def _timing(self, step: int) -> m.Timing:
        steps = range(max(0, step - HISTORY), step)
        return m.Timing(
            period_ms=tuple(round(33.3 + 0.4 * math.sin(k), 2) for k in steps),
            lateness_ms=tuple(round(0.3 + 0.25 * math.sin(0.7 * k) ** 2, 2) for k in steps),
            inference_ms=tuple(0.4 if k % 50 else 38.0 for k in steps),
            camera_age_ms=tuple(round(12 + 6 * ((k * 7) % 5) / 4, 1) for k in steps),
            sections_ms=(("observe", 1.9), ("action", 0.4), ("send", 0.6), ("record", 0.3)),
            achieved_hz=30.0 if step else 0.0,
            missed_deadlines=2 if self.scenario == "fault" else 0,
            dropped_frames=1 if self.scenario == "fault" else 0,
        )

    def _thumb(self, name: str, index: int, t: float) -> m.CameraThumb:
        width, height = 32, 24
        shift = int(t * 10) % width
        pixels = bytearray()
        for y in range(height):
            for x in range(width):
                cube = 10 <= (x + shift) % width < 16 and 12 <= y < 18
                if cube:
                    pixels += bytes((220, 60, 50))
                elif y > 16:
                    pixels += bytes((90 + 3 * x, 70, 50 + 20 * index))
                else:
                    pixels += bytes((40, 60 + 4 * y, (120 + 3 * x - 40 * index) % 256))
        return m.CameraThumb(
            name=name, width=width, height=height, rgb=bytes(pixels), age_ms=12.0 + 3 * index
        )
