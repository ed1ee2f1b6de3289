"""Several teleoperators driving one robot (`--teleop='[{…}, {…}]'`): actions merged by name.

`bind_teleoperators(teleops, robot.action_features)` is how a session gets its teleoperator, for
one or many: each member first learns the robot's features (`Teleoperator.bind`), then its
action names are matched to the robot's:
- a name the robot has is kept (`shoulder_pan.pos` on an SO arm, `x.vel` on LeKiwi);
- otherwise a robot name ending in `_<name>` is used when exactly one does: a leader arm's
  `shoulder_pan.pos` drives LeKiwi's `arm_shoulder_pan.pos`, as lerobot does for lekiwi_client;
- a name with no match, or two teleoperators giving the same robot name, is a `ConfigError`
  naming both teleoperators and the feature.

Keys (`press`/`release`/`claims`/`mapping_help`) go to the members that take keys.
"""

from __future__ import annotations

from typing import Any, ClassVar

from hardware.base import Features, TakesKeys, Teleoperator, TeleoperatorConfig
from hardware.errors import ConfigError


def _label(index: int, teleop: Teleoperator) -> str:
    return f"teleop #{index + 1} ({teleop.config.type})"


def _robot_name(feature: str, robot_features: Features) -> str | None:
    if feature in robot_features:
        return feature
    matches = [name for name in robot_features if name.endswith("_" + feature)]
    return matches[0] if len(matches) == 1 else None


class CompositeTeleop(Teleoperator):
    """Teleoperators whose actions, renamed to the robot's names, are merged into one."""

    name: ClassVar[str] = "composite"

    def __init__(self, teleops: list[Teleoperator], robot_action_features: Features):
        super().__init__(TeleoperatorConfig())
        if not teleops:
            raise ConfigError("--teleop: give at least one teleoperator")
        self.teleops = list(teleops)
        self._renames: list[dict[str, str]] = []
        owner: dict[str, int] = {}
        for i, teleop in enumerate(self.teleops):
            teleop.bind(robot_action_features)
            renames: dict[str, str] = {}
            for feature in teleop.action_features:
                target = _robot_name(feature, robot_action_features)
                if target is None:
                    raise ConfigError(
                        f"{_label(i, teleop)} gives {feature!r}, which the robot does not take "
                        f"(its actions: {', '.join(robot_action_features)})"
                    )
                if target in owner:
                    j = owner[target]
                    raise ConfigError(
                        f"{_label(j, self.teleops[j])} and {_label(i, teleop)} both drive "
                        f"{target!r}; give each feature to one teleoperator"
                    )
                owner[target] = i
                renames[feature] = target
            self._renames.append(renames)
        self._features = {target: float for target in owner}

    @property
    def action_features(self) -> Features:
        return dict(self._features)

    @property
    def is_connected(self) -> bool:
        return all(t.is_connected for t in self.teleops)

    def check_files(self) -> None:
        for teleop in self.teleops:
            teleop.check_files()

    def connect(self, calibrate: bool = True) -> None:
        for teleop in self.teleops:
            if not teleop.is_connected:
                teleop.connect(calibrate)

    def disconnect(self) -> None:
        for teleop in self.teleops:
            if teleop.is_connected:
                teleop.disconnect()

    def feedback(self, observation: dict[str, Any]) -> None:
        for teleop in self.teleops:
            teleop.feedback(observation)

    def get_action(self) -> dict[str, float]:
        action: dict[str, float] = {}
        for teleop, renames in zip(self.teleops, self._renames, strict=True):
            for feature, value in teleop.get_action().items():
                action[renames.get(feature, feature)] = value
        return action

    # ---- keys ----------------------------------------------------------------------------------

    def _key_takers(self) -> list[TakesKeys]:
        return [t for t in self.teleops if isinstance(t, TakesKeys)]

    def claims(self, key: str) -> bool:
        return any(t.claims(key) for t in self._key_takers())

    def press(self, key: str) -> bool:
        return any([t.press(key) for t in self._key_takers()])

    def release(self, key: str) -> None:
        for teleop in self._key_takers():
            teleop.release(key)

    def mapping_help(self) -> list[tuple[str, str]]:
        return [pair for t in self._key_takers() for pair in t.mapping_help()]


def bind_teleoperators(
    teleops: list[Teleoperator], robot_action_features: Features
) -> Teleoperator:
    """The session's teleoperator: one member as itself when no renaming is needed, else merged."""
    composite = CompositeTeleop(teleops, robot_action_features)
    if len(teleops) == 1 and all(a == b for a, b in composite._renames[0].items()):
        return teleops[0]
    return composite
