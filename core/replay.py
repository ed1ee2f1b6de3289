"""Replaying a recorded episode's actions on the arm, as lerobot-replay does, a little safer.

First the arm moves slowly from where it is to the episode's first action (each step at most
`max_relative_target` per motor when the robot has one, else `APPROACH_STEP`); then the actions
are sent one per period at the dataset's rate, on absolute deadlines. `stop` (an event set by
E-STOP, a key or a signal) ends it at the next step; the caller cuts torque.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

from core.timing import Clock, Deadlines, MonotonicClock
from hardware.base import Robot

log = logging.getLogger(__name__)

APPROACH_STEP = 1.0  # per motor per step on the way to the first pose (degrees or % of range)
APPROACH_TOLERANCE = 1.0
APPROACH_LIMIT_S = 20.0  # the arm that has not reached the first pose by then starts anyway


@runtime_checkable
class LimitsRelativeTarget(Protocol):
    """A robot config with lerobot's `max_relative_target` (the SO followers have it)."""

    max_relative_target: float | dict[str, float] | None


def approach_step(robot: Robot) -> dict[str, float]:
    """The largest move per step, per motor, on the way to the first pose."""
    names = list(robot.action_features)
    config = robot.config
    target = config.max_relative_target if isinstance(config, LimitsRelativeTarget) else None
    if isinstance(target, dict):
        return {n: min(APPROACH_STEP, target.get(n.removesuffix(".pos"), APPROACH_STEP))
                for n in names}  # fmt: skip
    step = APPROACH_STEP if target is None else min(APPROACH_STEP, float(target))
    return {n: step for n in names}


def replay(
    robot: Robot,
    names: tuple[str, ...],
    actions: np.ndarray,
    fps: int,
    stop: threading.Event,
    clock: Clock | None = None,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
) -> str:
    """Move to the first pose, then send every action; "completed" or "stopped"."""
    clock = clock or MonotonicClock()
    deadlines = Deadlines(1.0 / fps, clock)
    first = {n: float(v) for n, v in zip(names, actions[0], strict=True)}
    steps = approach_step(robot)
    limit = round(APPROACH_LIMIT_S * fps)
    for _ in range(limit):
        if stop.is_set():
            return "stopped"
        deadlines.wait()
        present = robot.get_observation()
        gaps = {n: first[n] - float(present[n]) for n in names}
        if all(abs(g) <= APPROACH_TOLERANCE for g in gaps.values()):
            break
        robot.send_action(
            {n: float(present[n]) + float(np.clip(g, -steps[n], steps[n])) for n, g in gaps.items()}
        )
        deadlines.advance()
    else:
        log.warning("replay: the arm did not reach the first pose in %.0f s", APPROACH_LIMIT_S)
    deadlines.restart()
    for i, row in enumerate(actions):
        if stop.is_set():
            return "stopped"
        deadlines.wait()
        action = {n: float(v) for n, v in zip(names, row, strict=True)}
        sent = robot.send_action(action)
        if on_step is not None:
            on_step(i, sent)
        deadlines.advance()
    return "completed"
