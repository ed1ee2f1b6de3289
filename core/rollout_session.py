"""What a session does at the edges of a rollout strategy's phases (core.strategies).

The control thread calls `begin_phase` before a phase's first step and `end_phase` after its
last: episodes start and end in the recorder, the policy starts from the present pose whenever
it takes the arm (again), the ring buffer becomes the start of a highlight, and pushes to the Hub
run on their own thread. A human take-over never makes the arm jump: the follower first slides
to the human's pose (`smooth_handover`), or the take-over is refused with the gap it would jump.
"""

from __future__ import annotations

import logging
import threading

from core import messages as m

log = logging.getLogger(__name__)

HANDOVER_MAX_GAP = 5.0  # largest jump (degrees, or % for the gripper) a take-over may make


def open_strategy(s, rollout, devices, recorder) -> None:
    """The plan and what it needs: the ring buffer (highlight), the extra features (dagger)."""
    from core.config.rollout import HighlightStrategyConfig
    from core.strategies import rollout_plan

    first = recorder.meta.total_episodes if recorder is not None else 0
    shapes = [v for v in devices.robot.observation_features.values() if isinstance(v, tuple)]
    s.plan = rollout_plan(rollout, first, shapes)
    strategy = rollout.strategy
    if isinstance(strategy, HighlightStrategyConfig):
        from core.ring_buffer import RingBuffer

        s.ring_buffer = RingBuffer(
            strategy.ring_buffer_seconds, rollout.fps, strategy.ring_buffer_max_memory_mb
        )


def extra_features(rollout) -> dict[str, dict]:
    """Features a strategy adds to the dataset: dagger's per-frame `intervention`, as lerobot."""
    from core.config.rollout import DaggerStrategyConfig

    if rollout is not None and isinstance(rollout.strategy, DaggerStrategyConfig):
        return {"intervention": {"dtype": "bool", "shape": [1], "names": None}}
    return {}


def begin_phase(s, phase, observation: dict | None) -> bool:
    if phase.name == "correction" and not _may_take_over(s, observation):
        return False
    if phase.records:
        s.begin_episode(phase.episode, observation, phase.name)
        if phase.from_buffer and s.ring_buffer is not None:
            _flush_buffer(s)
        return True
    s.emit(m.PhaseChanged(s.now(), phase.name, phase.episode))
    if phase.name == "handover":
        s._handover = (_pose(s, observation), 0)
    elif phase.policy_drives and s.policy is not None:
        s.policy.start_episode(observation)  # from the present pose, after a human or a pause
    return True


def end_phase(s, phase, result, verdict: str) -> None:
    if phase.name == "handover":
        s._handover = None
    if verdict in ("save", "save_push"):
        s.save_episode(phase.episode, result.frames)
    elif verdict == "discard" and phase.records:
        s.discard_episode(phase.episode, result.frames, result.outcome)
    if verdict in ("save_push", "push"):
        push_in_background(s, asked=verdict == "push")


def _flush_buffer(s) -> None:
    """The highlight's buffered seconds become the first frames of its episode."""
    task = s.config.dataset.single_task
    extra = {"intervention": False} if "intervention" in s.extra_features else None
    for frame in s.ring_buffer.drain():
        s.recorder.add_frame(frame.state, frame.action, frame.images, task, extra)


def _pose(s, observation: dict | None) -> dict[str, float]:
    obs = observation or {}
    return {k: float(obs[k]) for k in s.devices.action_names if k in obs}


def _may_take_over(s, observation: dict | None) -> bool:
    """Refuse a take-over whose first teleop action is far from the follower's pose."""
    target = s.devices.teleop_action(observation or {})
    pose = _pose(s, observation)
    gaps = {k: abs(target[k] - v) for k, v in pose.items() if k in target}
    if not gaps:
        return True
    worst = max(gaps, key=gaps.get)
    if gaps[worst] <= HANDOVER_MAX_GAP:
        return True
    s.emit(
        m.WarningRaised(
            s.now(),
            f"take-over refused: the arm would jump {gaps[worst]:.0f} on {worst}; bring the "
            "leader to the arm's pose first, or use --strategy.smooth_handover=true",
        )
    )
    return False


def handover_action(s, obs: dict, frame: int, total: int) -> dict[str, float]:
    """Slide from the pose at the hand-over to the human's present pose over the phase."""
    start, _ = s._handover
    target = s.devices.teleop_action(obs)
    share = min(1.0, (frame + 1) / max(1, total))
    return {k: start.get(k, v) + (v - start.get(k, v)) * share for k, v in target.items()}


def push_in_background(s, asked: bool) -> None:
    """Push the dataset once the saves queued so far are written; the control thread goes on.
    With `--dataset.push_to_hub=false` nothing is pushed (a push key pressed is told so)."""
    ds = s.config.dataset
    if s.recorder is None:
        return
    if not ds.push_to_hub:
        if asked:
            s.emit(m.WarningRaised(s.now(), "not pushed: --dataset.push_to_hub=false"))
        return

    def push() -> None:
        from core.setup import _upload

        s.recorder.wait_saves()
        _upload(s)

    thread = threading.Thread(target=push, name="push", daemon=True)
    s._pushes.append(thread)
    thread.start()
