"""Which action each control step gets, from chunks tagged with the step they were computed at.

A chunk computed from the observation of step `s` holds the actions for steps s, s+1, …; the
first `horizon` of them are used (lerobot's `n_action_steps`). A newer chunk replaces what is
left of the older one, and its actions for steps already past are dropped, so the arm never
plays an action late. With temporal ensembling every chunk covering a step contributes, weighted
exp(-coeff * i), i = 0 for the oldest (lerobot's ACTTemporalEnsembler, generalised to chunks
that do not arrive every step). With an `aggregate` function (lerobot's async client), a newer
chunk still replaces the rest of the older one, but a step both cover gets aggregate(old, new).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

# lerobot's async client's ways of merging two chunks' actions for one step (old, new)
AGGREGATES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "weighted_average": lambda old, new: 0.3 * old + 0.7 * new,
    "latest_only": lambda old, new: new,
    "average": lambda old, new: 0.5 * old + 0.5 * new,
    "conservative": lambda old, new: 0.7 * old + 0.3 * new,
}


class ChunkSchedule:
    def __init__(
        self,
        horizon: int,
        ensemble_coeff: float | None = None,
        aggregate: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    ):
        self.horizon = horizon
        self.ensemble_coeff = ensemble_coeff
        self.aggregate = aggregate
        self.clear()

    def clear(self) -> None:
        self._start = 0  # step of self._queue[0]
        self._queue: deque[np.ndarray] = deque()
        self._chunks: list[tuple[int, np.ndarray]] = []  # (first step, actions), oldest first
        self.source_step: int | None = None  # the step the newest chunk was computed at

    def add(self, chunk: np.ndarray, computed_at: int, now: int) -> int:
        """Take a chunk computed from step `computed_at`'s observation; `now` is the current step.

        Returns how many of its actions were dropped because their step has passed.
        """
        actions = np.asarray(chunk, dtype=np.float32)[: self.horizon]
        dropped = min(max(now - computed_at, 0), len(actions))
        if self.ensemble_coeff is not None:
            self._chunks.append((computed_at, actions))
            self.source_step = computed_at
            return dropped
        if dropped < len(actions):  # a chunk entirely in the past leaves the queue as it is
            first, fresh = computed_at + dropped, list(actions[dropped:])
            if self.aggregate is not None:
                older = {self._start + i: action for i, action in enumerate(self._queue)}
                fresh = [
                    self.aggregate(older[first + i], a) if first + i in older else a
                    for i, a in enumerate(fresh)
                ]
            self.source_step = computed_at
            self._start = first
            self._queue = deque(fresh)
        return dropped

    def take(self, step: int) -> np.ndarray | None:
        """The action for `step`, or None if no chunk covers it."""
        if self.ensemble_coeff is not None:
            return self._ensembled(step)
        while self._queue and self._start < step:
            self._queue.popleft()
            self._start += 1
        if not self._queue or self._start != step:
            return None
        self._start += 1
        return self._queue.popleft()

    def remaining(self, step: int) -> int:
        """How many steps after `step` already have an action."""
        if self.ensemble_coeff is not None:
            ends = [first + len(actions) - 1 for first, actions in self._chunks]
            return max([end - step for end in ends] + [0])
        return max(self._start + len(self._queue) - 1 - step, 0) if self._queue else 0

    def _ensembled(self, step: int) -> np.ndarray | None:
        self._chunks = [(f, a) for f, a in self._chunks if f + len(a) > step]
        covering = [a[step - f] for f, a in self._chunks if f <= step]
        if not covering:
            return None
        weights = np.exp(-self.ensemble_coeff * np.arange(len(covering)))
        mixed = (weights[:, None] * np.asarray(covering, dtype=np.float64)).sum(0) / weights.sum()
        return mixed.astype(np.float32)
