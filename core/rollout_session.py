"""A rollout strategy's collaborators of the control loop (core.control, core.strategies).

`RolloutActions` is the policy / teleop action source plus dagger's hand-over: the arm never
jumps when a human takes over; the follower first slides to the human's pose
(`smooth_handover`), or the take-over is refused with the gap it would have jumped.
`RolloutFrames` is the recorder sink plus highlight's ring buffer and dagger's per-frame
`intervention` feature. `push_in_background` pushes the dataset on its own thread.
"""

from __future__ import annotations

import logging
import threading

from core import messages as m
from core.parts import DeviceActions, RecorderFrames, SessionParts
from core.plan import Phase
from hardware.errors import ConfigError

log = logging.getLogger(__name__)

HANDOVER_MAX_GAP = 5.0  # largest jump (degrees, or % for the gripper) a take-over may make
INTERVENTION = {"intervention": {"dtype": "bool", "shape": [1], "names": None}}


def extra_features(rollout) -> dict[str, dict]:
    """Features a strategy adds to the dataset: dagger's per-frame `intervention`, as lerobot."""
    from core.config.rollout import DaggerStrategyConfig

    if rollout is not None and isinstance(rollout.strategy, DaggerStrategyConfig):
        return dict(INTERVENTION)
    return {}


class RolloutActions(DeviceActions):
    """The policy while it drives, the human (teleop) in a correction, a slide between."""

    def __init__(
        self, devices, policy, warn, *, smooth_handover: bool, fps: float, multiplier: int = 1
    ):
        super().__init__(devices, policy)
        self.warn = warn
        self.fps = fps  # control steps per second
        self.multiplier = multiplier  # control steps per policy action
        self.smooth_handover = smooth_handover
        self.refused = False  # the last take-over was refused (the plan reads it)
        self.initial: dict[str, float] | None = None  # the arm's pose when the rollout began
        self._phase: Phase | None = None
        self._start: dict[str, float] = {}
        self._step = 0
        self._from: dict[str, float] | None = None  # interpolation: previous policy action
        self._to: dict[str, float] | None = None  # and the newest one

    def start_episode(self, observation: dict | None) -> None:
        super().start_episode(observation)
        self._from = self._to = None

    def choose(self, phase: Phase, observation: dict):
        if self.initial is None:
            self.initial = self._pose(observation)
        if phase is not self._phase:
            self._phase, self._step = phase, 0
            self._start = self._pose(observation)
            if phase.name == "handover":
                self.refused = False
        self._step += 1
        if phase.name == "returning":
            return self._slide(phase, self.initial), "hold", None
        if phase.name == "waiting":  # --interactive, before /start: the arm holds
            return None, "hold", None
        if phase.name == "handover":
            target = self.devices.teleop_action(observation)
            if not self.smooth_handover:
                self._judge(target)  # the arm holds either way; a refusal is said once
                return None, "hold", None
            return self._slide(phase, target), "teleop", None
        if phase.policy_drives and self.policy is not None and self.multiplier > 1:
            return self._interpolated(phase, observation)
        return super().choose(phase, observation)

    def _slide(self, phase: Phase, target: dict[str, float]) -> dict[str, float]:
        """From the pose at the phase's start to `target`, evenly over the phase."""
        total = max(1, round(phase.duration_s * self.fps))
        share = min(1.0, self._step / total)
        start = self._start
        return {k: start.get(k, v) + (v - start.get(k, v)) * share for k, v in target.items()}

    def _interpolated(self, phase: Phase, observation: dict):
        """A policy action every `multiplier` steps; the steps between go evenly from the
        previous action to the newest (lerobot's interpolation, one action behind)."""
        k = (self._step - 1) % self.multiplier
        policy_step = None
        if k == 0:
            action, _, policy_step = super().choose(phase, observation)
            if action is not None:
                self._from = self._to or self._pose(observation)
                self._to = action
        if self._to is None:
            return None, "hold", policy_step
        share = (k + 1) / self.multiplier
        start = self._from
        blend = {n: start.get(n, v) + (v - start.get(n, v)) * share for n, v in self._to.items()}
        return blend, "policy", policy_step

    def _pose(self, observation: dict) -> dict[str, float]:
        return {k: float(observation[k]) for k in self.devices.action_names if k in observation}

    def _judge(self, target: dict[str, float]) -> None:
        """Refuse the take-over (the arm holds) when the human's pose is far from the arm's."""
        gaps = {k: abs(target[k] - v) for k, v in self._start.items() if k in target}
        worst = max(gaps, key=gaps.get) if gaps else None
        if worst is not None and gaps[worst] > HANDOVER_MAX_GAP:
            self.refused = True
            self.warn(
                f"take-over refused: the arm would jump {gaps[worst]:.0f} on {worst}; bring "
                "the leader to the arm's pose first, or use --strategy.smooth_handover=true"
            )


class RolloutFrames(RecorderFrames):
    """Frames by the phase: to the ring buffer (highlight), or to the recorder with dagger's
    `intervention` flag; a highlight's episode starts with the buffered frames."""

    def __init__(self, parts: SessionParts, task: str, ring_buffer=None, intervention=False):
        super().__init__(parts, task)
        self.ring_buffer = ring_buffer
        self.intervention = intervention
        self._phase: Phase | None = None

    def phase_started(self, phase: Phase) -> None:
        self._phase = phase

    def start_episode(self) -> None:
        super().start_episode()
        if self._phase is not None and self._phase.from_buffer and self.ring_buffer is not None:
            extra = self._extra()
            for frame in self.ring_buffer.drain():
                self.recorder.add_frame(frame.state, frame.action, frame.images, self.task, extra)

    def add(self, observation: dict, action: dict[str, float]) -> None:
        state, act, images = self.arrays(observation, action)
        if self._phase is not None and self._phase.buffers:
            self.ring_buffer.append(state, act, images)
            return
        self.recorder.add_frame(state, act, images, self.task, self._extra())

    def _extra(self) -> dict | None:
        if not self.intervention:
            return None
        return {"intervention": bool(self._phase is not None and self._phase.intervention)}

    @property
    def episodes_saved(self) -> int:
        return 0 if self.recorder is None else self.recorder.episodes_saved

    @property
    def dropped_frames(self) -> int:
        return 0 if self.recorder is None else self.recorder.dropped_frames

    @property
    def encoder_backlog(self) -> int:
        return 0 if self.recorder is None else self.recorder.encoder_backlog


def rollout_parts(cfg, parts: SessionParts, warn):
    """(plan, actions, frames) of `cfg.rollout`'s strategy."""
    from core.config.rollout import DaggerStrategyConfig, HighlightStrategyConfig
    from core.strategies import rollout_plan

    rollout = cfg.rollout
    strategy = rollout.strategy
    smooth = isinstance(strategy, DaggerStrategyConfig) and strategy.smooth_handover
    actions = RolloutActions(
        parts.devices,
        parts.policy,
        warn,
        smooth_handover=smooth,
        fps=rollout.loop_fps,
        multiplier=rollout.interpolation_multiplier,
    )
    ring = None
    if isinstance(strategy, HighlightStrategyConfig):
        from core.ring_buffer import RingBuffer

        ring = RingBuffer(
            strategy.ring_buffer_seconds, rollout.fps, strategy.ring_buffer_max_memory_mb
        )
    frames = RolloutFrames(
        parts, cfg.dataset.single_task, ring, intervention=bool(extra_features(rollout))
    )
    shapes = [v for v in parts.devices.robot.observation_features.values() if isinstance(v, tuple)]
    first = parts.first_episode
    plan = rollout_plan(rollout, first, shapes, actions)
    if rollout.interactive:
        from core.interactive import InteractivePlan

        plan = InteractivePlan(lambda at: rollout_plan(rollout, at, shapes, actions), first)
    if rollout.return_to_initial_position:
        from core.strategies import ReturnHome

        plan = ReturnHome(plan)
    return plan, actions, frames


def open_pedal(rollout, send):
    """Dagger with `--strategy.input_device=pedal`: its pedal codes sent as the strategy's
    keys (a `PedalReader`, started); None for any other rollout. ConfigError (one line) when
    the device cannot be read."""
    from core.config.rollout import DaggerStrategyConfig

    strategy = rollout.strategy
    if not isinstance(strategy, DaggerStrategyConfig) or strategy.input_device != "pedal":
        return None
    from hardware.teleop.pedal import PedalReader

    pedal = strategy.pedal
    actions = {pedal.pause_resume: "pause", pedal.correction: "correction", pedal.upload: "upload"}

    def pressed(code: str) -> None:
        if code in actions:
            send(m.StrategyKey(actions[code]))

    reader = PedalReader(pedal.device_path, pressed)
    try:
        reader.start()
    except OSError as error:
        raise ConfigError(
            f"--strategy.pedal.device_path: cannot read {pedal.device_path} ({error.strerror}); "
            "plug the pedal in (and make the device readable), or use "
            "--strategy.input_device=keyboard"
        ) from None
    return reader


def push_in_background(cfg, parts: SessionParts, emit, now, hub_api, asked: bool):
    """Push the dataset once the saves queued so far are written; the control thread goes on.
    With `--dataset.push_to_hub=false` nothing is pushed (a push key pressed is told so).
    Returns the pushing thread (None when nothing is pushed)."""
    if parts.recorder is None:
        return None
    if not cfg.dataset.push_to_hub:
        if asked:
            emit(m.WarningRaised(now(), "not pushed: --dataset.push_to_hub=false"))
        return None

    def push() -> None:
        from core.setup import upload

        parts.recorder.wait_saves()
        upload(cfg, parts, emit, now, hub_api)

    thread = threading.Thread(target=push, name="push", daemon=True)
    thread.start()
    return thread
