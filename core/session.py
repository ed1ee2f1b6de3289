"""One recording session: the devices, the control thread, the recorder, the policy, the logs.

Its interface is message-based so it can live in another process (the console app runs it in a
child): `start()`, `send(command)`, `snapshot()`, `events()`, `close()`. Everything a user can
get wrong is checked in `start()` before a motor moves or a file is written.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
from dataclasses import replace

from core import messages as m
from core.control import ControlLoop, SessionFault
from core.parts import DeviceActions, RecorderFrames, SessionParts
from core.plan import EpisodicPlan
from core.priority import ControlPriority, back_to_normal, control_thread_scheduled
from core.queues import drain
from core.review_edits import PendingEdits
from core.score import Score
from core.step import ControlStep
from core.timing import Clock, MonotonicClock

log = logging.getLogger(__name__)

WARNING_KEEP_S = 10.0
PUSH_WAIT_S = 120.0


class Session:
    def __init__(self, config, *, clock: Clock | None = None, hub_api=None):
        self.config = config
        self.clock = clock or MonotonicClock()
        self.hub_api = hub_api
        self.t0 = self.clock.now()
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._telemetry = m.Telemetry(num_episodes=config.dataset.num_episodes)
        self._last_step: ControlStep | None = None
        self._warnings: list[tuple[float, str]] = []
        self._warnings_lock = threading.Lock()  # the saver and log threads warn too
        self._thread: threading.Thread | None = None
        self._loop: ControlLoop | None = None
        self._closed = False
        self._frozen = False  # gc.freeze() while the control thread runs
        self._go = threading.Event()  # the control thread's first step waits for the first line
        self.priority: ControlPriority | None = None  # how the control thread is scheduled
        self.finished = threading.Event()
        self.end_reason: str | None = None
        self.error: str | None = None
        self.bad_input = False  # start() raises a ConfigError itself, in process
        self.save_error: str | None = None  # the first failed save, which ends the session
        self.parts: SessionParts | None = None
        self._pushes: list[threading.Thread] = []  # a rollout strategy's pushes
        self._pedal = None  # dagger's foot pedal (core.rollout_session.open_pedal)
        # this session's saved episodes and their outcomes, as on disk (replaced, never mutated:
        # the saver thread writes it, the control thread reads it)
        self.outcomes: dict[int, str | None] = {}
        self.edits = PendingEdits()  # the review's, applied after the last save
        self.deleted: tuple[int, ...] = ()
        self.retasked: tuple[int, ...] = ()

    # ---- the clients' interface ------------------------------------------------------------

    def start(self) -> None:
        """Check everything, open the dataset, connect the devices, start the control thread.

        Raises ConfigError / DeviceError (one line each) with nothing left half-done.
        """
        from core.setup import open_session, session_started

        cfg = self.config
        ds = cfg.dataset
        if cfg.rollout is not None:  # before any motor: a pedal that cannot be read is refused
            from core.rollout_session import open_pedal

            self._pedal = open_pedal(cfg.rollout, self.send)
        try:  # closes what it opened if it fails or a signal comes part-way
            parts = open_session(
                cfg, on_written=self.on_episode_written, warn=self._warn, hub_api=self.hub_api
            )
        except BaseException:
            self._stop_pedal()
            raise
        self.parts = parts
        if cfg.rollout is not None:  # lerecord rollout: the strategy's plan (core.strategies)
            from core.rollout_session import rollout_parts

            plan, actions, frames = rollout_parts(cfg, parts, self._warn)
        else:
            plan = EpisodicPlan(
                parts.first_episode,
                ds.num_episodes,
                ds.episode_time_s,
                ds.reset_time_s,
                outcome_prompt=bool(ds.outcome_prompt),
            )
            actions = DeviceActions(parts.devices, parts.policy)
            frames = RecorderFrames(parts, ds.single_task)
        self._loop = ControlLoop(
            parts.devices,
            actions,
            frames,
            self,
            plan,
            fps=ds.fps,
            task=ds.single_task,
            clock=self.clock,
            t0=self.t0,
            outcome_prompt=bool(ds.outcome_prompt),
            outcome_wait_s=ds.outcome_wait,
        )
        # The control thread is scheduled (by its native id) before its first step and before
        # the first line, which says how; it starts stepping once that line is out.
        self._thread = threading.Thread(target=self._run, name="control", daemon=True)
        self._thread.start()
        try:
            self.priority = control_thread_scheduled(cfg.control_priority, self._thread)
            self._loop.priority = self.priority.label
            self.emit(session_started(cfg, parts, self.now(), plan, self.priority))
            # Everything set up so far (modules, devices, a policy) leaves the garbage
            # collector's view: a full collection over it held the GIL 0.3 s (125 000
            # objects), a stall for the control thread whichever thread's allocation set it
            # off. Undone at the session's end.
            gc.freeze()
            self._frozen = True
        finally:
            self._go.set()

    def send(self, command: m.Command) -> None:
        if isinstance(command, (m.MarkDeletion, m.EditTask)):
            self._review_edit(command)
        elif self._loop is not None:
            self._loop.commands.put(command)

    def snapshot(self) -> m.Telemetry:
        return self._telemetry

    def events(self) -> list[m.Event]:
        return drain(self._events)

    def last_step(self) -> ControlStep | None:
        return self._last_step

    def wait(self, timeout: float | None = None) -> bool:
        return self.finished.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """End the session now (the episode in progress is discarded), leave everything safe."""
        if self._thread is not None and not self.finished.is_set():
            self.send(m.Stop(save_current=False))
            self._thread.join(timeout)
        if not self._closed:
            self._teardown()
        elif not self.finished.is_set():  # the control thread is stuck in its teardown
            self.end_reason = "error"
            self.error = self.error or f"the session did not finish closing within {timeout:g} s"
            log.error("%s", self.error)
            self.finished.set()

    @property
    def devices(self):
        """The opened devices (None before `start()`)."""
        return None if self.parts is None else self.parts.devices

    @property
    def episodes_saved(self) -> int:
        """Episodes this session put in the dataset (and did not take out again)."""
        recorder = None if self.parts is None else self.parts.recorder
        return 0 if recorder is None else recorder.episodes_saved

    # ---- the control loop's reports (control thread; `emit` from any thread) ---------------

    def now(self) -> float:
        return self.clock.now() - self.t0

    def emit(self, event: m.Event) -> None:
        self._events.put(event)
        if isinstance(event, m.WarningRaised):
            self._remember_warning(event.message)
        elif isinstance(event, m.DeviceFault) and not event.recovered:
            self._remember_warning(f"{event.device}: {event.message}")
        voice = None if self.parts is None else self.parts.voice
        if voice is not None:
            voice.on_event(event)

    def publish(self, telemetry: m.Telemetry) -> None:
        self._telemetry = telemetry

    def step_done(self, step: ControlStep) -> None:
        self._last_step = step
        if self.parts is not None and self.parts.inference_log is not None:
            self.parts.inference_log.record(step)

    def active_warnings(self) -> tuple[str, ...]:
        cutoff = self.clock.now() - WARNING_KEEP_S
        with self._warnings_lock:
            self._warnings = [(t, w) for t, w in self._warnings if t >= cutoff]
            return tuple(w for _, w in self._warnings[-3:])

    def overheating(self, motor: str, temperature: float) -> None:
        self.emit(m.WarningRaised(self.now(), f"{motor} is overheating ({temperature:.0f} °C)"))
        if self.parts is not None and self.parts.voice is not None:
            from core.voice import overheating

            self.parts.voice.say(overheating(motor))

    @property
    def score(self) -> Score:
        return Score.of(self.outcomes.values())

    def on_episode_written(self, written) -> None:
        """Called by the recorder's saver thread when an episode is on disk (or failed), an
        outcome is written, or the episode saved last is taken out.

        A failed save ends the session with its error (recording on would lose every episode
        the same way); the episodes saved before it stay."""
        from core.dataset.recorder import EpisodeRemoved, OutcomeWritten

        if isinstance(written, EpisodeRemoved):
            self.outcomes = {k: v for k, v in self.outcomes.items() if k != written.episode_index}
            self.edits.forget(written.episode_index)
            return
        if isinstance(written, OutcomeWritten):
            self._outcome_written(written)
            return
        if written.error is None:
            self.outcomes = {**self.outcomes, written.episode_index: written.outcome}
            self.emit(
                m.EpisodeSaved(self.now(), written.episode_index, written.frames, written.save_s)
            )
            if written.warning is not None:
                self.emit(m.WarningRaised(self.now(), written.warning))
            if written.outcome is not None:
                marked = m.OutcomeMarked(
                    self.now(), written.episode_index, written.outcome, self.score
                )
                self.emit(marked)
            return
        if self.save_error is None:
            self.save_error = f"an episode could not be saved: {written.error}"
            self.emit(m.WarningRaised(self.now(), self.save_error + "; recording stops"))
            self.send(m.Stop(save_current=False))

    def push_dataset(self, asked: bool) -> None:
        """A rollout strategy's push (every N episodes, or its key), on its own thread."""
        from core.rollout_session import push_in_background

        thread = push_in_background(
            self.config, self.parts, self.emit, self.now, self.hub_api, asked
        )
        if thread is not None:
            self._pushes.append(thread)

    def _outcome_written(self, written) -> None:
        if written.error is not None:
            self._warn(f"episode {written.episode_index}: {written.error}")
            return
        if written.episode_index in self.outcomes:
            self.outcomes = {**self.outcomes, written.episode_index: written.outcome}
        self.emit(m.OutcomeMarked(self.now(), written.episode_index, written.outcome, self.score))

    def _review_edit(self, command: m.MarkDeletion | m.EditTask) -> None:
        warning = self.edits.change(command, self.outcomes)
        if warning is not None:
            self._warn(warning)
        else:
            self.emit(self.edits.event(self.now()))

    def _apply_edits(self) -> None:
        """After the last save, before the upload: the review's deletions and tasks, through
        the journaled edit of `lerecord edit`; the outcomes follow the renumbering."""
        from hardware.errors import ConfigError

        if self.parts.recorder is None:
            return
        try:
            done = self.edits.apply(self.parts.recorder.root, self.outcomes)
        except (ConfigError, OSError) as error:
            self._warn(f"the review's edits were not applied, every episode is kept: {error}")
            return
        if done is not None:
            self.deleted, self.retasked = done.deleted, done.retasked
            self.outcomes = {
                new: self.outcomes[old] for new, old in enumerate(done.kept) if old in self.outcomes
            }

    def _warn(self, text: str) -> None:
        self.emit(m.WarningRaised(self.now(), text))

    def _remember_warning(self, text: str) -> None:
        with self._warnings_lock:
            self._warnings.append((self.clock.now(), text))

    def _torque_after_close(self) -> str:
        if self.end_reason == "emergency_stop":
            return "off"
        if self.parts is None:
            return "unknown"
        # disconnect() says when torque may still be on (configured so, or servos that did not
        # confirm); otherwise it is off
        return "on" if self.parts.devices.robot.torque_left_on else "off"

    # ---- the control thread's life ---------------------------------------------------------

    def _run(self) -> None:
        assert self._loop is not None and self.parts is not None
        self._go.wait()
        try:
            self.end_reason = self._loop.run()
        except SessionFault as fault:
            self.end_reason, self.error = "error", str(fault)
            self._discard()
        except Exception as error:  # a bug or an unexpected device failure: end safely
            log.exception("session failed")
            self.end_reason, self.error = "error", f"{type(error).__name__}: {error}"
            self._discard()
        finally:
            back_to_normal()  # the saves, the upload: no core taken from the others
            self._teardown()

    def _root(self) -> str:
        recorder = None if self.parts is None else self.parts.recorder
        return "" if recorder is None else str(recorder.root)

    def _discard(self) -> None:
        if self.parts.recorder is not None:
            self.parts.recorder.discard_episode()

    def _stop_pedal(self) -> None:
        if self._pedal is not None:
            self._pedal.stop()
            self._pedal = None

    def _teardown(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop_pedal()
        from core.setup import close_session

        # the last episodes may still be written (and uploaded): say so until they are
        self.publish(replace(self._telemetry, phase="saving"))
        if self.parts is not None:
            for push in self._pushes:
                push.join(PUSH_WAIT_S)  # a strategy's push under way ends first
            close_session(
                self.config, self.parts, self.emit, self.now, self.hub_api, self._apply_edits
            )
        if self.save_error is not None:
            self.end_reason, self.error = "error", self.error or self.save_error
        torque = self._torque_after_close()
        self.publish(
            replace(
                self._telemetry,
                phase="e-stopped" if self.end_reason == "emergency_stop" else "ended",
                episodes_saved=self.episodes_saved,
                frame_index=0,
                torque=torque,
            )
        )
        self.emit(
            m.SessionEnded(
                self.now(),
                reason=self.end_reason or "stopped",
                episodes_saved=self.episodes_saved,
                dataset_root=self._root(),
                error=self.error,
                score=self.score if self.score.marked else None,
                torque=torque,
                deleted=self.deleted,
                retasked=self.retasked,
            )
        )
        if self._frozen:
            gc.unfreeze()
            self._frozen = False
        self.finished.set()
