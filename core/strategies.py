"""lerobot-rollout's strategies as phase plans: the control loop runs phases, a plan decides them.

A plan answers `next()` (the phase to run now, or None when the session is complete) and
`end(phase, result)` (what becomes of the phase's frames: a `Verdict`). `lerecord record` keeps
the loop's own episodic shape; `lerecord rollout` picks one from `--strategy.type`:

- `episodic`: record's `EpisodicPlan` (core.plan), the policy recording during episodes, the
  teleop (or holding) during resets;
- `base`: the policy runs for `--duration` (0: until stopped), nothing is recorded;
- `sentry`: the policy records continuously, episodes cut by duration (`episode_time_s`, or the
  time a video takes to reach `target_video_file_size_mb`), a push every N episodes;
- `highlight`: the last `ring_buffer_seconds` are kept in memory; the save key writes them as
  the start of an episode that goes on live until the key is pressed again; the push key pushes;
- `dagger`: the policy runs; the correction key hands the arm to the human (leader or keyboard),
  whose frames are recorded with `intervention=True`; the key again hands it back and saves the
  correction as an episode (with `record_autonomous`, the policy's frames are episodes too).
"""

from __future__ import annotations

import math

from core.config.rollout import (
    BaseStrategyConfig,
    DaggerStrategyConfig,
    EpisodicStrategyConfig,
    HighlightStrategyConfig,
    RolloutConfig,
    SentryStrategyConfig,
)
from core.plan import EpisodicPlan, Phase, PhaseResult, Verdict

DEFAULT_VIDEO_FILE_SIZE_MB = 200  # lerobot's video file size, where sentry cuts by default
LOW_BITS_PER_PIXEL = 0.1  # lerobot's deliberately low estimate: the cut comes after the size
NO_VIDEO_EPISODE_S = 300.0
LONG_PHASE_S = 3600.0  # "until stopped" runs in phases of an hour
RETURN_S = 3.0  # the slide back to the start pose at the end (lerobot: 3 s)
HANDOVER_S = 1.0  # dagger: the follower slides to the human's pose before the human drives


def sentry_episode_seconds(camera_shapes: list[tuple], fps: float, target_mb: float) -> float:
    """Seconds of video that surely pass `target_mb` for the smallest camera (lerobot's
    estimate at 0.1 bit per pixel); 300 s with no camera."""
    pixels = [h * w for h, w, *_ in camera_shapes]
    if not pixels:
        return NO_VIDEO_EPISODE_S
    bytes_per_s = min(pixels) * LOW_BITS_PER_PIXEL * fps / 8
    return target_mb * 1024 * 1024 / bytes_per_s


class _Clocked:
    """The session-wide `--duration` (0: none), counted in the frames the phases ran."""

    def __init__(self, duration_s: float, fps: float):
        self.left_s = duration_s if duration_s > 0 else math.inf
        self.fps = fps
        self.stopped = False

    def spend(self, result: PhaseResult) -> None:
        self.left_s -= result.frames / self.fps
        if result.outcome in ("stop", "emergency_stop"):
            self.stopped = True

    @property
    def over(self) -> bool:
        return self.stopped or self.left_s <= 1e-9

    def cap(self, seconds: float) -> float:
        return min(seconds, self.left_s, LONG_PHASE_S)

    def removed(self) -> None:
        """Part of the plan protocol; these plans never ask to unsave an episode."""


class BasePlan(_Clocked):
    """Run the policy, record nothing."""

    target = 0

    def __init__(self, duration_s: float, fps: float, episode: int = 0):
        super().__init__(duration_s, fps)
        self.episode = episode

    def next(self) -> Phase | None:
        if self.over:
            return None
        return Phase("running", self.episode, self.cap(math.inf), False, True)

    def end(self, phase: Phase, result: PhaseResult) -> Verdict:
        self.spend(result)
        return "keep"


class SentryPlan(_Clocked):
    """Record continuously; an episode every `episode_s`; push every `upload_every` episodes."""

    def __init__(self, first: int, episode_s: float, upload_every: int, duration_s, fps, limit):
        super().__init__(duration_s, fps)
        self.episode = first
        self.episode_s = episode_s
        self.upload_every = upload_every
        self.target = first + limit if limit else 0
        self.saved = 0

    def next(self) -> Phase | None:
        if self.over or (self.target and self.episode >= self.target):
            return None
        return Phase("recording", self.episode, self.cap(self.episode_s), True, True)

    def end(self, phase: Phase, result: PhaseResult) -> Verdict:
        self.spend(result)
        if result.outcome == "emergency_stop" or (
            result.outcome == "stop" and not result.save_current
        ):
            return "discard"
        if result.outcome == "rerecord":
            return "discard"
        if result.frames == 0:
            return "keep"
        self.episode += 1
        self.saved += 1
        due = self.upload_every > 0 and self.saved % self.upload_every == 0
        return "save_push" if due else "save"


class HighlightPlan(_Clocked):
    """Keep the last seconds in a ring buffer; `save` writes them and records on until `save`
    again; `push` pushes the dataset."""

    def __init__(self, first: int, duration_s: float, fps: float):
        super().__init__(duration_s, fps)
        self.episode = first
        self.target = 0
        self._live = False

    def next(self) -> Phase | None:
        if self.over:
            return None
        if self._live:
            live = self.cap(math.inf)
            return Phase("recording", self.episode, live, True, True, from_buffer=True)
        return Phase("buffering", self.episode, self.cap(math.inf), False, True, buffers=True)

    def end(self, phase: Phase, result: PhaseResult) -> Verdict:
        self.spend(result)
        outcome = result.outcome
        if outcome == "push":
            return "push"
        if not phase.records:
            self._live = outcome == "save" and not self.over
            return "keep"
        if outcome == "emergency_stop" or (outcome == "stop" and not result.save_current):
            return "discard"
        self._live = False
        self.episode += 1
        return "save"


class DaggerPlan(_Clocked):
    """The policy drives; `correction` hands over to the human and back. Corrections are saved
    as episodes (and, with `record_autonomous`, the policy's stretches too)."""

    def __init__(
        self, first: int, config: DaggerStrategyConfig, duration_s, fps, limit: int, judge
    ):
        super().__init__(duration_s, fps)
        self.judge = judge  # the action source: it refuses a take-over that would jump
        self.episode = first
        self.target = first + limit
        self.record_autonomous = config.record_autonomous
        self.upload_every = config.upload_every_n_episodes
        self.saved = 0
        self.smooth_handover = config.smooth_handover
        self._human = False
        self._handover = False

    def next(self) -> Phase | None:
        if self.over or self.episode >= self.target:
            return None
        if self._handover:
            seconds = HANDOVER_S if self.smooth_handover else 0.0  # 0: one step, to check
            return Phase("handover", self.episode, seconds, False, False)
        if self._human:
            duration = self.cap(math.inf)
            return Phase("correction", self.episode, duration, True, False, intervention=True)
        duration = self.cap(math.inf)
        return Phase("running", self.episode, duration, self.record_autonomous, True)

    def end(self, phase: Phase, result: PhaseResult) -> Verdict:
        self.spend(result)
        outcome = result.outcome
        if phase.name == "handover":  # the key again, a stop or a refusal cancel the take-over
            self._handover = False
            self._human = outcome == "done" and not self.judge.refused
            return "keep"
        if outcome == "correction":
            self._human = not self._human
            self._handover = self._human
        if phase.records and (
            outcome == "emergency_stop" or (outcome == "stop" and not result.save_current)
        ):
            return "discard"
        if outcome == "upload":
            return "push" if not phase.records else "keep"
        if not phase.records or result.frames == 0:
            return "keep"
        if outcome not in ("correction", "done", "stop", "exit_early"):
            return "keep"
        self.episode += 1
        self.saved += 1
        due = self.upload_every > 0 and self.saved % self.upload_every == 0
        return "save_push" if due else "save"


def rollout_plan(rollout: RolloutConfig, first_episode: int, camera_shapes: list[tuple], judge):
    """The phase plan of `--strategy.type` (episodic: record's own, the policy recording)."""
    strategy = rollout.strategy
    ds = rollout.dataset
    fps = rollout.fps
    if isinstance(strategy, BaseStrategyConfig):
        return BasePlan(rollout.duration, fps, first_episode)
    if isinstance(strategy, SentryStrategyConfig):
        target = strategy.target_video_file_size_mb or DEFAULT_VIDEO_FILE_SIZE_MB
        episode_s = sentry_episode_seconds(camera_shapes, fps, target)
        if strategy.target_video_file_size_mb is None and _given(ds, "episode_time_s"):
            episode_s = ds.episode_time_s
        return SentryPlan(
            first_episode, episode_s, strategy.upload_every_n_episodes, rollout.duration, fps, 0
        )
    if isinstance(strategy, HighlightStrategyConfig):
        return HighlightPlan(first_episode, rollout.duration, fps)
    if isinstance(strategy, DaggerStrategyConfig):
        limit = strategy.num_episodes or ds.num_episodes
        return DaggerPlan(first_episode, strategy, rollout.duration, fps, limit, judge)
    if isinstance(strategy, EpisodicStrategyConfig):
        return EpisodicPlan(
            first_episode,
            ds.num_episodes,
            ds.episode_time_s,
            ds.reset_time_s,
            outcome_prompt=bool(ds.outcome_prompt),
        )
    raise ValueError(f"no plan for strategy {strategy.type!r}")


def _given(dataset, name: str) -> bool:
    """Whether a dataset setting differs from its default (the user gave it)."""
    import dataclasses

    default = {f.name: f.default for f in dataclasses.fields(dataset)}[name]
    return getattr(dataset, name) != default


def strategy_keys(rollout: RolloutConfig | None) -> dict[str, str]:
    """Key name -> the strategy action it triggers ("save", "push", "correction", …)."""
    if rollout is None:
        return {}
    strategy = rollout.strategy
    if isinstance(strategy, HighlightStrategyConfig):
        return {strategy.save_key: "save", strategy.push_key: "push"}
    if isinstance(strategy, DaggerStrategyConfig) and strategy.input_device == "keyboard":
        keys = strategy.keyboard
        return {keys.correction: "correction", keys.pause_resume: "pause", keys.upload: "upload"}
    return {}


class ReturnHome:
    """`--return_to_initial_position`: once the plan is done (not after an emergency stop,
    which ends the loop at once), one last phase slides the arm back to its start pose."""

    def __init__(self, plan):
        self.plan = plan
        self._returned = False

    @property
    def target(self) -> int:
        return self.plan.target

    def next(self) -> Phase | None:
        phase = self.plan.next()
        if phase is not None or self._returned:
            return phase
        self._returned = True
        return Phase("returning", self.plan.episode, RETURN_S, False, False)

    def end(self, phase: Phase, result: PhaseResult) -> Verdict:
        return "keep" if phase.name == "returning" else self.plan.end(phase, result)

    def removed(self) -> None:
        self.plan.removed()
