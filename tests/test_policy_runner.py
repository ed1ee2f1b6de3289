"""The runner hands the control loop one on-time action per step, sync or async."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest
from policy_fixture import ACT, observation, reference, require_fixture

from hardware.errors import ConfigError

WAIT_S = 30.0  # the longest the loop waits for a chunk that is due (a deadline, not a pace)


@pytest.fixture(scope="module")
def ref():
    require_fixture()
    return reference()


class StepClock:
    """The control loop's step as the slow policy's worker sees it: a forward asked for at step
    `s` takes its real `delay`, then returns no earlier than step `s + steps`, and the loop waits
    for it there. A chunk then arrives at the same step on a loaded machine as on an idle one
    (the runner's own timing, which sizes its lead from the forwards it measured, is untouched)."""

    def __init__(self, steps: int):
        self.steps = steps
        self.now = 0
        self._changed = threading.Condition()

    def advance(self, step: float) -> None:
        with self._changed:
            self.now = step
            self._changed.notify_all()

    def hold_until_due(self, asked_at: int) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.now >= asked_at + self.steps, timeout=WAIT_S)


def slow_policy(delay: float, fps: float):
    """The fixture ACT with a slow forward; remembers each chunk by the step it was asked for."""
    from core.policy.checkpoint import read_checkpoint
    from core.policy.loading import resolve_device
    from core.policy.policy import ACTPolicy

    class SlowACT(ACTPolicy):
        def __init__(self):
            super().__init__(read_checkpoint(ACT), resolve_device("cpu"))
            self.chunks: dict[int, np.ndarray] = {}
            self.clock = StepClock(math.ceil(delay * fps))

        def predict_chunk(self, obs):
            time.sleep(delay)
            chunk = super().predict_chunk(obs)
            self.chunks[int(obs["observation.state"][0])] = chunk
            return chunk

        def chunk_for(self, obs, step):
            chunk = super().chunk_for(obs, step)
            if threading.current_thread().name == "policy":  # the async worker, not the loop
                self.clock.hold_until_due(step)
            return chunk

    return SlowACT()


def step_observation(ref, step: int) -> dict[str, np.ndarray]:
    """A fixture observation whose first state value is the step number (to trace chunks)."""
    obs = observation(ref, step % 43)
    obs["observation.state"] = obs["observation.state"].copy()
    obs["observation.state"][0] = step
    return obs


def _wait_for_due_chunk(runner, clock: StepClock, asked_at: int | None, step: int) -> float:
    """Before `step`: a chunk asked for at least `clock.steps` steps ago is waited for until the
    worker has handed it over (runner internals read, not changed); returns the seconds waited."""
    if asked_at is None or step < asked_at + clock.steps or not runner._pending:
        return 0.0
    started = time.perf_counter()
    while runner._results.empty() and time.perf_counter() - started < WAIT_S:
        time.sleep(0.001)
    return time.perf_counter() - started


def run_loop(runner, ref, steps: int, fps: float, first: int = 0):
    """A control loop on absolute deadlines; returns (action, record, step start time) per step.

    With the async runner of a slow policy, the loop keeps the policy's StepClock; the time it
    spends waiting for a due chunk stands in for the forward and is left out of the step times."""
    clock = runner.policy.clock if runner.async_mode else None
    period, rows, waited, asked_at = 1 / fps, [], 0.0, None
    deadline = time.perf_counter()
    try:
        for step in range(steps):
            now = time.perf_counter()
            if now < deadline:
                time.sleep(deadline - now)
            started = time.perf_counter() - waited
            if clock is not None:
                clock.advance(step)
                pause = _wait_for_due_chunk(runner, clock, asked_at, step)
                waited, deadline = waited + pause, deadline + pause
            pending_before = runner._pending
            action, record = runner.act(step_observation(ref, first + step), step)
            if runner._pending and (not pending_before or record.forward_ms is not None):
                asked_at = step  # this step's observation was sent to the worker
            rows.append((action, record, started))
            deadline += period
    finally:
        if clock is not None:
            clock.advance(math.inf)  # a forward still held returns (the runner closes next)
    return rows


def test_async_slow_forward_still_gives_one_on_time_action_per_step(ref):
    from core.policy import PolicyRunner

    policy = slow_policy(delay=0.1, fps=50)
    runner = PolicyRunner(policy, fps=50)
    runner.warmup()  # as a session does: the forward time is known before the first episode
    runner.start_episode(step_observation(ref, 0))  # first chunk computed before the clock runs
    rows = run_loop(runner, ref, steps=150, fps=50)
    runner.close()
    assert all(action is not None for action, _, _ in rows)
    arrivals = 0
    for step, (action, record, _) in enumerate(rows):
        assert record.origin == "queue", (step, record)
        offset = step - record.chunk_step
        assert 0 <= offset < policy.n_action_steps, (step, record.chunk_step)
        np.testing.assert_array_equal(action, policy.chunks[record.chunk_step][offset])
        if record.forward_ms is not None:
            arrivals += 1
            assert record.dropped >= 4  # the 0.1 s forward spans 5 steps at 50 Hz
            assert record.forward_ms >= 100
    assert arrivals >= 8  # 150 steps of 20-action chunks started early
    assert rows[-1][1].starvations == 0
    sources = [record.chunk_step for _, record, _ in rows]
    assert sources == sorted(sources)  # chunks are used in the order of their observations


def test_sync_stalls_where_async_keeps_time(ref):
    from core.policy import PolicyRunner

    delay, fps = 0.2, 30
    sync = PolicyRunner(slow_policy(delay, fps), fps=fps, async_mode=False)
    sync.start_episode()
    sync_rows = run_loop(sync, ref, steps=45, fps=fps)
    sync.close()
    forwards = [i for i, (_, r, _) in enumerate(sync_rows) if r.origin == "forward"]
    assert forwards == [0, 20, 40]
    assert all(sync_rows[i][1].inference_ms >= delay * 1000 for i in forwards)
    sync_gaps = np.diff([t for _, _, t in sync_rows])
    assert sync_gaps.max() >= delay  # the arm gets no new action for a whole forward

    policy = slow_policy(delay, fps)
    runner = PolicyRunner(policy, fps=fps)
    runner.start_episode(step_observation(ref, 0))
    async_rows = run_loop(runner, ref, steps=45, fps=fps)
    runner.close()
    assert {r.origin for _, r, _ in async_rows} == {"queue"}
    assert max(r.inference_ms for _, r, _ in async_rows) < delay * 1000 / 2
    assert np.diff([t for _, _, t in async_rows]).max() < delay
    # the async chunks were computed on fresher observations than step 20's queue refill
    assert any(r.chunk_step not in (0, 20, 40) for _, r, _ in async_rows)


def test_async_episode_start_waits_then_acts_and_forgets_the_last_episode(ref):
    from core.policy import PolicyRunner

    policy = slow_policy(delay=0.05, fps=50)
    runner = PolicyRunner(policy, fps=50)
    runner.start_episode()
    action, record = runner.act(step_observation(ref, 1000), 0)
    assert action is None and record.origin == "wait" and record.starvations == 0
    runner.start_episode()  # the chunk in flight belongs to the old episode now
    rows = run_loop(runner, ref, steps=40, fps=50, first=2000)
    runner.close()
    acted = [(k, a, r) for k, (a, r, _) in enumerate(rows) if a is not None]
    assert acted and 1000 in policy.chunks  # the old episode's chunk was computed, then ignored
    for k, action, record in acted:
        chunk = policy.chunks[2000 + record.chunk_step]  # from this episode's observations
        np.testing.assert_array_equal(action, chunk[k - record.chunk_step])
    assert rows[0][1].origin == "wait" and rows[-1][1].origin == "queue"


def test_a_failing_forward_is_raised_in_the_control_thread():
    from core.policy import PolicyRunner
    from core.policy.config import PolicyFeature
    from core.policy.policy import Policy

    class Broken(Policy):
        def predict_chunk(self, obs):
            raise RuntimeError("out of memory")

    policy = Broken({"observation.state": PolicyFeature("STATE", (2,))}, 2, 10, 10)
    runner = PolicyRunner(policy, fps=100)
    obs = {"observation.state": np.zeros(2, np.float32)}
    with pytest.raises(RuntimeError, match="policy forward failed: out of memory"):
        for step in range(200):
            runner.act(obs, step)
            time.sleep(0.01)
    runner.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_policy_worker_that_dies_is_raised_in_the_control_thread_not_waited_for():
    from core.policy import PolicyRunner
    from core.policy.config import PolicyFeature
    from core.policy.policy import Policy

    class Dying(Policy):
        def predict_chunk(self, obs):
            raise SystemExit("a bug that ends the thread")  # not caught as a failed forward

    policy = Dying({"observation.state": PolicyFeature("STATE", (2,))}, 2, 10, 10)
    runner = PolicyRunner(policy, fps=100)
    obs = {"observation.state": np.zeros(2, np.float32)}
    with pytest.raises(RuntimeError, match="policy worker thread ended"):
        for step in range(300):
            runner.act(obs, step)
            time.sleep(0.01)
    runner.close()


SO_ARM = {f"{m}.pos": float for m in ("shoulder_pan", "shoulder_lift", "elbow_flex")} | {
    f"{m}.pos": float for m in ("wrist_flex", "wrist_roll", "gripper")
}


@pytest.fixture(scope="module")
def policy():
    require_fixture()
    from core.policy import load_policy

    return load_policy(ACT)


def test_robot_features_map_onto_the_checkpoint(policy, ref):
    from core.policy import match_features

    observation_features = dict(SO_ARM, front=(48, 64, 3))
    mapping = match_features(policy, observation_features, dict(SO_ARM))
    assert mapping.state_names == tuple(SO_ARM)
    assert mapping.cameras == {"observation.images.front": "front"}
    assert policy.output_names == list(SO_ARM)
    obs = observation(ref, 3)
    robot_obs = dict(zip(SO_ARM, obs["observation.state"].tolist(), strict=True))
    robot_obs["front"] = obs["observation.images.front"]
    robot_obs["shoulder_pan.load"] = 12.0  # diagnostics are not policy inputs
    inputs = mapping.to_policy(robot_obs)
    np.testing.assert_array_equal(inputs["observation.state"], obs["observation.state"])
    action = mapping.to_robot(policy.predict_chunk(inputs)[0])
    assert list(action) == list(SO_ARM)


@pytest.mark.parametrize(
    "observation_features, action_features, message",
    [
        (
            dict(list(SO_ARM.items())[:5], front=(48, 64, 3)),
            SO_ARM,
            "observation.state has 6 values but the robot gives 5 values",
        ),
        (
            dict(SO_ARM, wrist=(48, 64, 3)),
            SO_ARM,
            "the policy needs camera\\(s\\) front but the robot has wrist",
        ),
        (
            dict(SO_ARM, front=(480, 640, 3)),
            SO_ARM,
            "camera front gives 640x480 images but the policy was trained on 64x48",
        ),
        (
            dict(SO_ARM, front=(48, 64, 3)),
            dict(SO_ARM, extra=float),
            "outputs 6 action values but the robot takes 7",
        ),
    ],
)
def test_feature_mismatch_is_named(policy, observation_features, action_features, message):
    from core.policy import match_features

    with pytest.raises(ConfigError, match=message):
        match_features(policy, observation_features, action_features)


def test_session_policy_turns_robot_observations_into_robot_actions(ref):
    from types import SimpleNamespace

    from core.policy.session import SessionPolicy

    robot = SimpleNamespace(
        observation_features=dict(SO_ARM, front=(48, 64, 3)), action_features=dict(SO_ARM)
    )
    from core.config.tree import PolicyConfig

    config = PolicyConfig(path=str(ACT), async_=False, backend="torch")
    session_policy = SessionPolicy.load(config, SimpleNamespace(robot=robot), fps=30)
    session_policy.start_episode()
    actions = []
    for step in range(22):
        obs = observation(ref, step)
        robot_obs = dict(zip(SO_ARM, obs["observation.state"].tolist(), strict=True))
        robot_obs["front"] = obs["observation.images.front"]
        action, record = session_policy.act(robot_obs)
        actions.append([action[name] for name in SO_ARM])
        assert record.inputs["gripper.pos"] == pytest.approx(robot_obs["gripper.pos"])
    session_policy.close()
    np.testing.assert_allclose(actions, ref["select_action_sequence"][:22], atol=1e-4)


def test_schedule_plays_each_action_at_its_own_step():
    from core.policy.schedule import ChunkSchedule

    schedule = ChunkSchedule(horizon=5)
    first = np.arange(10, dtype=np.float32)[:, None] + 100  # computed at step 0
    assert schedule.add(first, computed_at=0, now=0) == 0
    assert [schedule.take(k)[0] for k in range(3)] == [100, 101, 102]
    later = np.arange(10, dtype=np.float32)[:, None] + 200  # computed at step 1, arrived at 3
    assert schedule.add(later, computed_at=1, now=3) == 2
    assert schedule.take(3)[0] == 202 and schedule.remaining(3) == 2
    stale = np.zeros((10, 1), np.float32)  # computed at step -2: its 5 actions are all past
    assert schedule.add(stale, computed_at=-2, now=4) == 5
    assert schedule.take(4)[0] == 203  # the queue it could not replace plays on
    assert schedule.source_step == 1
    assert schedule.take(6) is None  # step 5 was skipped and later's horizon ends there


def test_schedule_ensembles_late_chunks_step_by_step():
    from core.policy.schedule import ChunkSchedule

    schedule = ChunkSchedule(horizon=10, ensemble_coeff=0.5)
    a = np.arange(10, dtype=np.float32)[:, None]  # computed at step 0
    b = np.arange(10, dtype=np.float32)[:, None] + 100  # computed at step 1, arrives at step 3
    schedule.add(a, computed_at=0, now=0)
    assert [schedule.take(k)[0] for k in range(3)] == [0, 1, 2]
    assert schedule.add(b, computed_at=1, now=3) == 2
    w = np.exp(-0.5 * np.arange(2))  # the older chunk weighs most
    assert schedule.take(3)[0] == pytest.approx((w[0] * a[3, 0] + w[1] * b[2, 0]) / w.sum())
    assert schedule.remaining(3) == 7  # b covers steps 1..10
    assert schedule.take(10)[0] == pytest.approx(b[9, 0])  # a ended at step 9
