"""Jogging joints: velocities (held keys, stick deflections) integrated into position goals.

The goals start from the robot's present pose (its first observation) and are held there when
nothing moves, so letting go of a key leaves the arm where it is. The gripper stays in 0..100
(lerobot's RANGE_0_100); body joints are left to the robot's own limits and safety clamp.
"""

from __future__ import annotations

from typing import Any

from hardware.errors import DeviceError


def joint_features(robot_action_features: dict[str, Any]) -> dict[str, str]:
    """Joint name -> the robot's position feature: `shoulder_pan` -> `shoulder_pan.pos`, or
    `arm_shoulder_pan.pos` on a robot whose arm features carry a prefix (LeKiwi)."""
    joints: dict[str, str] = {}
    for feature in robot_action_features:
        if feature.endswith(".pos"):
            name = feature[: -len(".pos")]
            joints[name.removeprefix("arm_")] = feature
    return joints


class JointJog:
    def __init__(self, features: list[str]):
        self.features = list(features)
        self._goals: dict[str, float] | None = None

    @property
    def started(self) -> bool:
        return self._goals is not None

    def follow(self, observation: dict[str, Any]) -> None:
        """Take the starting goals from the first observation that has every joint."""
        if self._goals is None and all(f in observation for f in self.features):
            self._goals = {f: float(observation[f]) for f in self.features}

    def move(self, deltas: dict[str, float], who: str) -> dict[str, float]:
        """Move the goals by `deltas` (feature -> robot units) and return them all."""
        if self._goals is None:
            raise DeviceError(
                f"{who}: no robot pose to jog from yet; the session must give the teleoperator "
                "the robot's observation (feedback) before asking for an action"
            )
        for feature, delta in deltas.items():
            if feature in self._goals and delta:
                goal = self._goals[feature] + delta
                if feature.endswith("gripper.pos"):
                    goal = min(max(goal, 0.0), 100.0)
                self._goals[feature] = goal
        return dict(self._goals)
