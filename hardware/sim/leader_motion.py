"""A human-like pick-and-place motion for the simulated leader arm.

Poses are in lerobot's normalised units (degrees for the body joints, 0..100 for the gripper).
The hand moves from key pose to key pose along minimum-jerk curves (the bell-shaped speed of a
human reach), waits a little at some, places the cube a bit differently each cycle, and never
keeps perfectly still (a slight physiological tremor), so every joint's range grows while a user
calibrates the simulated arm.
"""

from __future__ import annotations

import math

REST = {
    "shoulder_pan": 0.0,
    "shoulder_lift": -95.0,
    "elbow_flex": 90.0,
    "wrist_flex": 65.0,
    "wrist_roll": 0.0,
    "gripper": 2.0,
}

# (seconds to reach the pose, pose): rest → above cube → down → grasp → lift → over box →
# down → release → up → rest. Joint order as REST.
_KEYS: list[tuple[float, tuple[float, ...]]] = [
    (1.2, (0.0, -95.0, 90.0, 65.0, 0.0, 2.0)),
    (1.6, (-30.0, -20.0, 30.0, 50.0, 0.0, 60.0)),
    (1.0, (-30.0, 5.0, 10.0, 60.0, 10.0, 60.0)),
    (0.6, (-30.0, 5.0, 10.0, 60.0, 10.0, 8.0)),
    (0.9, (-30.0, -25.0, 35.0, 45.0, 10.0, 8.0)),
    (1.6, (35.0, -15.0, 25.0, 50.0, -15.0, 8.0)),
    (0.8, (35.0, 0.0, 15.0, 55.0, -15.0, 8.0)),
    (0.5, (35.0, 0.0, 15.0, 55.0, -15.0, 55.0)),
    (0.8, (35.0, -30.0, 45.0, 40.0, 0.0, 55.0)),
    (1.8, (0.0, -95.0, 90.0, 65.0, 0.0, 2.0)),
]
CYCLE_S = sum(duration for duration, _ in _KEYS)
JOINTS = tuple(REST)


def _min_jerk(s: float) -> float:
    return s * s * s * (10 - 15 * s + 6 * s * s)


def _variation(cycle: int) -> float:
    """A repeatable pseudo-random number in [-1, 1] for each cycle."""
    return math.sin(cycle * 12.9898 + 78.233) * 43758.5453 % 2 - 1


_last: tuple[float, dict[str, float]] = (float("nan"), {})


def pick_and_place(t: float) -> dict[str, float]:
    """The pose at `t` seconds into the motion (it loops every CYCLE_S seconds)."""
    global _last
    if _last[0] == t:  # the six servos of an arm ask for the same instant
        return _last[1]
    pose = _pose(t)
    _last = (t, pose)
    return pose


def _pose(t: float) -> dict[str, float]:
    cycle, phase = divmod(t, CYCLE_S)
    shift = 6.0 * _variation(int(cycle))  # where the cube is this time (degrees of pan)
    previous = _KEYS[-1][1]
    for duration, pose in _KEYS:
        if phase < duration:
            s = _min_jerk(phase / duration)
            break
        phase -= duration
        previous = pose
    else:  # numerical edge at the end of a cycle
        s, pose = 1.0, previous
    out = {}
    for i, joint in enumerate(JOINTS):
        value = previous[i] + (pose[i] - previous[i]) * s
        if joint == "shoulder_pan" and value < 0:
            value += shift * min(1.0, -value / 30.0)
        tremor = 0.35 * math.sin(8.17 * t + i) + 0.2 * math.sin(1.95 * t + 2 * i)
        out[joint] = value + (tremor if joint != "gripper" else tremor / 2)
    return out
