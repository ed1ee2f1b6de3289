"""The policy runner: one action per control step, without making the control loop wait.

Sync mode is lerobot's behaviour: when no action is queued for the step, the chunk is computed
inside the call (the step stalls for a forward). Async mode (the default) computes chunks in a
worker thread on a recent observation, requested when the actions left cover no more than the
expected forward time (the slowest of the last five, times `margin`, plus a step) so the queue
does not run dry; a chunk that arrives late has its past actions dropped (see `ChunkSchedule`).
The control thread never waits: if the queue does run dry it repeats the last action and counts
a starvation. At an episode start nothing is queued: pass the first observation to
`start_episode` to compute the first chunk there, or the first steps return None ("wait").

Steps are counted by the caller's `step_index` (the frame within the episode): an action is
"on time" when it was planned for that step.

A remote policy (lerobot's policy server) runs under the same runner: the worker sends and
receives, the policy's `request_fraction` and `aggregate` say when to ask and how to merge. When
the policy becomes unreachable (`PolicyUnavailable`) the arm holds, every step's record carries
the reason (`link_error`), and the worker calls `reconnect` until the policy answers again.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.policy.policy import Policy, PolicyUnavailable
from core.policy.schedule import ChunkSchedule
from core.step import OutputStats, PolicyStep

log = logging.getLogger(__name__)
NO_STATS = OutputStats(math.nan, math.nan, math.nan, math.nan)
RECONNECT = "reconnect"  # a worker job: set the policy up again
RETRY_S = 1.0  # between reconnection attempts
STALL_S = 30.0  # a chunk asked for and not given in this long (or 20 forwards) is a stuck policy


@dataclass(frozen=True)
class _Chunk:
    generation: int
    computed_at: int
    actions: np.ndarray | None
    forward_ms: float
    stats: OutputStats
    error: BaseException | None = None


@dataclass(frozen=True)
class _Link:
    """The worker lost the policy (`lost` says why) or has it back (`lost` None)."""

    lost: str | None


class PolicyRunner:
    """Feeds a policy observations and hands back one action per step.

    `act(observation, step_index)` returns `(action or None, PolicyStep)`; None only before the
    episode's first chunk exists (async without priming), when the arm should hold.
    """

    def __init__(
        self,
        policy: Policy,
        fps: float,
        async_mode: bool = True,
        *,
        state_names: Sequence[str] | None = None,
        margin: float = 1.5,
    ):
        self.policy = policy
        self.fps = float(fps)
        self.async_mode = async_mode
        self.margin = margin
        self.state_names = list(state_names) if state_names is not None else None
        ensemble = policy.temporal_ensemble_coeff
        horizon = policy.chunk_size if ensemble is not None else policy.n_action_steps
        self._schedule = ChunkSchedule(horizon, ensemble, policy.aggregate)
        self._forward_s: float | None = None  # expected forward time (s)
        self._recent: deque[float] = deque(maxlen=5)
        self._generation = 0
        self._pending = False
        self._requested_at = 0.0
        self._last_action: np.ndarray | None = None
        self._stats = NO_STATS
        self._chunk_forward_ms: float | None = None  # forward time of the newest chunk
        self.starvations = 0
        self.chunks = 0
        self.link_error: str | None = None
        self._closing = threading.Event()
        self._requests: queue.Queue = queue.Queue()
        self._results: queue.SimpleQueue = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        if async_mode:
            self._worker = threading.Thread(target=self._work, name="policy", daemon=True)
            self._worker.start()
            if horizon <= 1 and ensemble is None:
                log.warning("n_action_steps=1 leaves no room to compute ahead; expect starvation")

    @property
    def forward_estimate_ms(self) -> float | None:
        return None if self._forward_s is None else self._forward_s * 1000

    @property
    def lead_steps(self) -> int:
        """Steps of queued actions left when the next chunk is requested (async)."""
        fraction = self.policy.request_fraction
        if fraction is not None:
            return math.floor(fraction * self._schedule.horizon)
        if self._forward_s is None:
            return 0
        return math.ceil(self._forward_s * self.margin * self.fps) + 1

    def _measured(self, seconds: float) -> None:
        # the slowest of the last few forwards: follows a slowdown at once, a speed-up slowly
        self._recent.append(seconds)
        self._forward_s = max(self._recent)

    def warmup(self, observation: dict[str, np.ndarray] | None = None, runs: int = 2) -> float:
        """Run the model `runs` times and measure all but the first (slow) call; returns ms."""
        observation = observation or self.policy.example_observation()
        for run in range(max(runs, 2)):
            started = time.perf_counter()
            self.policy.predict_chunk(observation)
            if run > 0:
                self._measured(time.perf_counter() - started)
        self.policy.reset()
        return self._forward_s * 1000

    def start_episode(self, observation: dict[str, np.ndarray] | None = None) -> None:
        """Reset the policy and the queue; with an observation, compute the first chunk now."""
        self.policy.reset()
        self._generation += 1
        self._pending = self.link_error is not None  # a reconnecting worker is busy
        self._schedule.clear()
        self._last_action = None
        self._stats = NO_STATS
        self._chunk_forward_ms = None
        self.starvations = 0
        self.chunks = 0
        self._collect(0)  # a link lost or back since the last step (old chunks are ignored)
        if observation is None or self.link_error is not None:
            return
        try:
            chunk, self._chunk_forward_ms, self._stats = self._forward(observation)
        except PolicyUnavailable as lost:
            self._lost(str(lost))
            return
        self._schedule.add(chunk, 0, 0)
        self.chunks += 1

    def _lost(self, why: str) -> None:
        """The control thread found the policy unreachable: hold, and have the worker reconnect."""
        self.link_error = why
        if self.async_mode:
            self._pending = True
            self._requests.put(RECONNECT)

    def _forward(
        self, observation: dict[str, np.ndarray], step: int = 0
    ) -> tuple[np.ndarray, float, OutputStats]:
        started = time.perf_counter()
        chunk = self.policy.chunk_for(observation, step)
        seconds = time.perf_counter() - started
        self._measured(seconds)
        return chunk, seconds * 1000, OutputStats.of(chunk)

    def _work(self) -> None:
        while True:
            job = self._requests.get()
            if job is None:
                return
            if job == RECONNECT:
                self._reconnect()
                continue
            generation, step, observation = job
            started = time.perf_counter()
            try:
                actions = self.policy.chunk_for(observation, step)
                stats, error = OutputStats.of(actions), None
            except PolicyUnavailable as lost:
                log.warning("%s; holding the arm and reconnecting", lost)
                self._results.put(_Link(str(lost)))
                self._reconnect()
                continue
            except Exception as exc:  # handed to the control thread, raised there
                actions, stats, error = None, NO_STATS, exc
            forward_ms = (time.perf_counter() - started) * 1000
            self._results.put(_Chunk(generation, step, actions, forward_ms, stats, error))

    def _reconnect(self) -> None:
        """Set the policy up again, every RETRY_S, until it answers or the runner closes."""
        while not self._closing.wait(RETRY_S):
            try:
                self.policy.reconnect()
            except PolicyUnavailable as still:
                log.debug("still unreachable: %s", still)
                continue
            except Exception as exc:  # refused now: raised in the control thread
                self._results.put(_Chunk(-1, 0, None, math.nan, NO_STATS, exc))
                return
            log.warning("policy reachable again: %s", self.policy.where)
            self._results.put(_Link(None))
            return

    def _collect(self, step: int) -> tuple[float | None, int]:
        forward_ms, dropped = None, 0
        while True:
            try:
                result: _Chunk = self._results.get_nowait()
            except queue.Empty:
                self._check_worker()
                return forward_ms, dropped
            if isinstance(result, _Link):
                self.link_error = result.lost
                self._pending = result.lost is not None  # the worker is reconnecting
                continue
            if result.error is not None and result.generation in (self._generation, -1):
                raise RuntimeError(f"policy forward failed: {result.error}") from result.error
            if result.generation != self._generation:
                continue
            self._pending = False
            self._measured(result.forward_ms / 1000)
            dropped += self._schedule.add(result.actions, result.computed_at, step)
            forward_ms, self._stats = result.forward_ms, result.stats
            self._chunk_forward_ms = forward_ms
            self.chunks += 1

    def _check_worker(self) -> None:
        """A chunk asked for must come: the worker thread ended, or a forward that takes far
        longer than measured, ends the session (the control loop only holds the arm)."""
        if not self._pending or self._worker is None:
            return
        if not self._worker.is_alive():
            raise RuntimeError("policy worker thread ended; the policy cannot act")
        if self.link_error is not None:
            return  # a remote policy being reconnected: the arm holds meanwhile, as meant
        waited = time.perf_counter() - self._requested_at
        if waited > max(STALL_S, 20 * (self._forward_s or 0)):
            raise RuntimeError(f"policy forward gave no chunk in {waited:.0f} s")

    def _request(self, observation: dict[str, np.ndarray], step: int) -> None:
        snapshot = {key: np.array(value, copy=True) for key, value in observation.items()}
        self._pending = True
        self._requested_at = time.perf_counter()
        self._requests.put((self._generation, step, snapshot))

    def act(
        self, observation: dict[str, np.ndarray], step_index: int
    ) -> tuple[np.ndarray | None, PolicyStep]:
        """The action for this step (policy feature names in, float32 [action_dim] out)."""
        started = time.perf_counter()
        origin, forward_ms, dropped = "queue", None, 0
        if self.async_mode:
            forward_ms, dropped = self._collect(step_index)
            action = self._schedule.take(step_index)
            if not self._pending and (
                action is None
                or self._schedule.ensemble_coeff is not None
                or self._schedule.remaining(step_index) <= self.lead_steps
            ):
                self._request(observation, step_index)
        else:
            ensembling = self._schedule.ensemble_coeff is not None
            action = None if ensembling else self._schedule.take(step_index)
            if action is None:  # lerobot: forward when the queue is empty, or every step
                chunk, forward_ms, self._stats = self._forward(observation, step_index)
                self._chunk_forward_ms = forward_ms
                self._schedule.add(chunk, step_index, step_index)
                action, origin = self._schedule.take(step_index), "forward"
        if action is None:
            origin = "wait" if self._last_action is None else "hold"
            if origin == "hold":
                self.starvations += 1
            action = self._last_action
        else:
            self._last_action = action
        record = PolicyStep(
            inference_ms=(time.perf_counter() - started) * 1000,
            forward_ms=forward_ms,
            queue_size=self._schedule.remaining(step_index),
            inputs=self._inputs(observation),
            output=self._stats,
            origin=origin,
            chunk_step=self._schedule.source_step,
            dropped=dropped,
            starvations=self.starvations,
            chunks=self.chunks,
            link_error=self.link_error,
            where=self.policy.where,
            chunk_forward_ms=self._chunk_forward_ms,
        )
        return (None if action is None else action.copy()), record

    def _inputs(self, observation: dict[str, np.ndarray]) -> dict[str, float]:
        state = observation.get("observation.state")
        if state is None:
            return {}
        names = self.state_names or [f"state_{i}" for i in range(len(state))]
        return {name: float(value) for name, value in zip(names, state, strict=False)}

    def close(self) -> None:
        """Stop the worker (waits for a forward in progress to finish) and let the policy go."""
        self._closing.set()
        if self._worker is not None:
            self._generation += 1
            self._requests.put(None)
            self._worker.join(timeout=30)
            self._worker = None
        self.policy.close()
