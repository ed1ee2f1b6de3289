"""One recording session: the devices, the control thread, the recorder, the policy, the logs.

Its interface is message-based so it can live in another process (the console app runs it in a
child): `start()`, `send(command)`, `snapshot()`, `events()`, `close()`. Everything a user can
get wrong is checked in `start()` before a motor moves or a file is written.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from core import messages as m
from core.control import ControlLoop, SessionFault
from core.devices import Devices
from core.step import ControlStep

log = logging.getLogger(__name__)

WARNING_KEEP_S = 10.0


class Session:
    def __init__(self, config, *, clock: Callable[[], float] = time.monotonic, hub_api=None):
        self.config = config
        self.clock = clock
        self.hub_api = hub_api
        self.t0 = clock()
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._telemetry = m.Telemetry(num_episodes=config.dataset.num_episodes)
        self._last_step: ControlStep | None = None
        self._warnings: list[tuple[float, str]] = []
        self._thread: threading.Thread | None = None
        self._loop: ControlLoop | None = None
        self._closed = False
        self.finished = threading.Event()
        self.end_reason: str | None = None
        self.error: str | None = None
        self.bad_input = False  # start() raises a ConfigError itself, in process
        self.devices: Devices | None = None
        self.recorder = None
        self.policy = None
        self.inference_log = None
        self.voice = None
        self.episode_index = 0
        self.first_episode = 0

    # ---- the clients' interface ------------------------------------------------------------

    def start(self) -> None:
        """Check everything, open the dataset, connect the devices, start the control thread.

        Raises ConfigError / DeviceError (one line each) with nothing left half-done.
        """
        from core.setup import open_session

        open_session(self)
        self._loop = ControlLoop(self, clock=self.clock)
        self._thread = threading.Thread(target=self._run, name="control", daemon=True)
        self._thread.start()

    def send(self, command: m.Command) -> None:
        if self._loop is not None:
            self._loop.commands.put(command)

    def snapshot(self) -> m.Telemetry:
        return self._telemetry

    def events(self) -> list[m.Event]:
        out = []
        while True:
            try:
                out.append(self._events.get_nowait())
            except queue.Empty:
                return out

    def last_step(self) -> ControlStep | None:
        return self._last_step

    def wait(self, timeout: float | None = None) -> bool:
        return self.finished.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """End the session now (the episode in progress is discarded), leave everything safe."""
        if self._thread is not None and not self.finished.is_set():
            self.send(m.Stop(save_current=False))
            self._thread.join(timeout)
        if not self.finished.is_set():
            self._teardown()

    # ---- called by the control thread ------------------------------------------------------

    def now(self) -> float:
        return self.clock() - self.t0

    def emit(self, event: m.Event) -> None:
        self._events.put(event)
        if isinstance(event, (m.WarningRaised, m.DeviceFault)) and not getattr(
            event, "recovered", False
        ):
            text = (
                event.message
                if isinstance(event, m.WarningRaised)
                else (f"{event.device}: {event.message}")
            )
            self._warnings.append((self.clock(), text))
        if self.voice is not None:
            self.voice.on_event(event)

    def publish(self, telemetry: m.Telemetry) -> None:
        self._telemetry = telemetry

    def active_warnings(self) -> tuple[str, ...]:
        cutoff = self.clock() - WARNING_KEEP_S
        self._warnings = [(t, w) for t, w in self._warnings if t >= cutoff]
        return tuple(w for _, w in self._warnings[-3:])

    def begin_episode(self, episode: int, observation: dict | None) -> None:
        self.episode_index = episode
        self.recorder.start_episode()
        if self.policy is not None:
            self.policy.start_episode(observation)
        self.emit(m.PhaseChanged(self.now(), "recording", episode))
        self.emit(m.EpisodeStarted(self.now(), episode, self.config.dataset.single_task))

    def begin_reset(self, next_episode: int) -> None:
        self.emit(m.PhaseChanged(self.now(), "reset", next_episode))

    def record_frame(self, obs: dict, action: dict[str, float]) -> None:
        d = self.devices
        state = np.fromiter((obs[k] for k in d.state_names), np.float32, len(d.state_names))
        act = np.fromiter((action[k] for k in d.action_names), np.float32, len(d.action_names))
        images = {cam: obs[cam] for cam in d.camera_names}
        self.recorder.add_frame(state, act, images, self.config.dataset.single_task)

    def save_episode(self, episode: int, frames: int) -> None:
        self.recorder.save_episode()
        if self.inference_log is not None:
            self.inference_log.flush()

    def discard_episode(self, episode: int, frames: int, reason: str) -> None:
        self.recorder.discard_episode()
        self.emit(m.EpisodeDiscarded(self.now(), episode, frames, reason))

    def remove_last_episode(self, episode: int, frames: int) -> bool:
        """Re-record pressed during a reset: take the episode just saved (`frames` long) out of
        the dataset."""
        if not self.recorder.remove_last_episode():
            return False
        self.emit(m.EpisodeDiscarded(self.now(), episode, frames, "rerecord"))
        return True

    def choose_action(self, phase: str, obs: dict):
        """(action, source, PolicyStep | None) for this step."""
        if phase == "recording" and self.policy is not None:
            action, policy_step = self.policy.act(obs)
            return action, "policy", policy_step
        if self.devices.teleop is not None:
            return self.devices.teleop_action(obs), "teleop", None
        return None, "hold", None

    def step_done(self, step: ControlStep) -> None:
        self._last_step = step
        if self.inference_log is not None:
            self.inference_log.record(step)

    def overheating(self, motor: str, temperature: float) -> None:
        self.emit(m.WarningRaised(self.now(), f"{motor} is overheating ({temperature:.0f} °C)"))
        if self.voice is not None:
            from core.voice import overheating

            self.voice.say(overheating(motor))

    def teleop_key(self, key: m.TeleopKey) -> None:
        self.devices.teleop_key(key)

    def robot_hold(self) -> None:
        self.devices.robot.hold()

    def robot_emergency_stop(self) -> None:
        self.devices.robot.emergency_stop()

    # Properties the control loop reads.
    @property
    def robot(self):
        return self.devices.robot

    @property
    def robot_label(self) -> str:
        return self.devices.robot_label

    @property
    def robot_cameras(self) -> dict:
        return self.devices.cameras

    @property
    def motors(self) -> list[str]:
        return self.devices.motors

    @property
    def action_names(self) -> list[str]:
        return self.devices.action_names

    @property
    def episodes_saved(self) -> int:
        """Episodes this session put in the dataset (and did not take out again)."""
        return 0 if self.recorder is None else self.recorder.episodes_saved

    @property
    def dropped_frames(self) -> int:
        return self.recorder.dropped_frames

    @property
    def encoder_backlog(self) -> int:
        return self.recorder.encoder_backlog

    def on_episode_written(self, written) -> None:
        """Called by the recorder's saver thread when an episode is on disk (or failed)."""
        if written.error is None:
            self.emit(
                m.EpisodeSaved(self.now(), written.episode_index, written.frames, written.save_s)
            )
        else:
            self.emit(
                m.WarningRaised(self.now(), f"an episode could not be saved: {written.error}")
            )

    def _torque_after_close(self) -> str:
        if self.end_reason == "emergency_stop":
            return "off"
        if self.devices is None:
            return "unknown"
        return self.devices.robot.torque_after_disconnect

    # ---- the control thread's life ---------------------------------------------------------

    def _run(self) -> None:
        try:
            self.end_reason = self._loop.run()
        except SessionFault as fault:
            self.end_reason, self.error = "error", str(fault)
            self.recorder.discard_episode()
        except Exception as error:  # a bug or an unexpected device failure: end safely
            log.exception("session failed")
            self.end_reason, self.error = "error", f"{type(error).__name__}: {error}"
            self.recorder.discard_episode()
        finally:
            self._teardown()

    def _teardown(self) -> None:
        if self._closed:
            return
        self._closed = True
        from core.setup import close_session

        # the last episodes may still be written (and uploaded): say so until they are
        self.publish(replace(self._telemetry, phase="saving"))
        close_session(self)
        self.publish(
            replace(
                self._telemetry,
                phase="e-stopped" if self.end_reason == "emergency_stop" else "ended",
                episodes_saved=self.episodes_saved,
                frame_index=0,
                torque=self._torque_after_close(),
            )
        )
        self.emit(
            m.SessionEnded(
                self.now(),
                reason=self.end_reason or "stopped",
                episodes_saved=self.episodes_saved,
                dataset_root=str(getattr(self.recorder, "root", "")),
                error=self.error,
                torque=self._torque_after_close(),
            )
        )
        self.finished.set()
