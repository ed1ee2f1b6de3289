"""The session's phase plan: which phase comes next, and what becomes of an episode's frames.

The control loop runs phases; a plan decides them. `EpisodicPlan` is lerobot-record's shape
(record an episode, reset, record the next, … until `num_episodes` are saved). Another shape
(lerobot-rollout's strategies: record nothing, record continuously, keep a highlight) is another
class with the same two methods, `next()` and `end()`, plus `removed()` and `target`; the loop
does not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

# What the loop does with the frames of the phase that just ended:
#   "save"    hand the episode to the recorder,
#   "discard" throw it away (and say why: the phase's outcome),
#   "unsave"  take the episode saved last back out of the dataset (re-record during its reset),
#   "keep"    nothing (the phase recorded nothing, or an empty episode);
#   "save_push" save, then push the dataset to the Hub; "push" push it now (rollout strategies).
Verdict = Literal["save", "discard", "unsave", "keep", "save_push", "push"]


@dataclass(frozen=True)
class Phase:
    name: str  # "recording" | "reset"
    episode: int  # the episode recorded, or (reset) the one recorded next
    duration_s: float
    records: bool  # its frames go to the dataset; it starts and ends an episode
    policy_drives: bool  # a policy, when there is one, gives the actions (else the teleop)
    # rollout strategies (core.strategies):
    intervention: bool = False  # dagger: the frames are a human's correction
    buffers: bool = False  # highlight: the frames go to the ring buffer
    from_buffer: bool = False  # highlight: the episode starts with the ring buffer's frames


@dataclass
class PhaseResult:
    outcome: str  # "done" | "exit_early" | "rerecord" | "stop" | "emergency_stop"
    frames: int
    save_current: bool = False  # with "stop": keep the episode in progress
    marked: str | None = None  # the episode was ended by marking it "success" or "failure"


class PhasePlan(Protocol):
    target: int  # the episode index the session stops before (for the console's "3/10")

    def next(self) -> Phase | None:
        """The phase to run now, or None when the session is complete."""
        ...

    def end(self, phase: Phase, result: PhaseResult) -> Verdict:
        """The phase is over: what to do with its frames (the plan moves on)."""
        ...

    def removed(self) -> None:
        """The recorder took the last saved episode out again (after an "unsave")."""
        ...


class EpisodicPlan:
    """Record `num_episodes` episodes of `episode_time_s`, each followed by a reset of
    `reset_time_s` (none after the last one, none at all when it is 0).

    With `outcome_prompt` every saved episode is followed by a reset, the last one too (of no
    length: the loop holds a reset while the episode before it waits for its outcome)."""

    def __init__(
        self,
        first_episode: int,
        num_episodes: int,
        episode_time_s: float,
        reset_time_s: float,
        outcome_prompt: bool = False,
    ):
        self.episode = first_episode
        self.target = first_episode + num_episodes
        self.episode_time_s = episode_time_s
        self.reset_time_s = reset_time_s
        self.outcome_prompt = outcome_prompt
        self._next: str | None = "recording" if num_episodes > 0 else None
        self._reset_follows_save = False
        self._last_reset = False  # the reset after the last episode (outcome prompt)

    def next(self) -> Phase | None:
        if self._next == "recording":
            return Phase("recording", self.episode, self.episode_time_s, True, True)
        if self._next == "reset":
            duration = 0.0 if self._last_reset else self.reset_time_s
            return Phase("reset", self.episode, duration, False, False)
        return None

    def end(self, phase: Phase, result: PhaseResult) -> Verdict:
        outcome = result.outcome
        if outcome == "emergency_stop" or (outcome == "stop" and not result.save_current):
            self._next = None
            return "discard" if phase.records else "keep"
        if not phase.records:
            last, self._last_reset = self._last_reset, False
            self._next = None if outcome == "stop" or last else "recording"
            if outcome == "rerecord" and self._reset_follows_save:
                self._reset_follows_save = False
                self._next = "recording"
                return "unsave"
            return "keep"
        if outcome == "rerecord":
            self._reset_follows_save = False
            self._next = "reset" if self.reset_time_s > 0 else "recording"
            return "discard"
        verdict: Verdict = "keep"
        if result.frames > 0:
            verdict = "save"
            self.episode += 1
        self._reset_follows_save = verdict == "save"
        judge = self.outcome_prompt and verdict == "save" and result.marked is None
        if outcome == "stop":
            self._next = None
        elif self.episode >= self.target:
            self._next, self._last_reset = ("reset", True) if judge else (None, False)
        else:
            self._next = "reset" if self.reset_time_s > 0 or judge else "recording"
        return verdict

    def removed(self) -> None:
        self.episode -= 1
