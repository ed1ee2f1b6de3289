"""Map a robot's observations and actions to a policy's input features, and check they fit.

The robot gives scalar features (`<motor>.pos`, LeKiwi's `x.vel` …) and `<cam>` HxWx3 images; the
checkpoint wants `observation.state` (every scalar, in the robot's order, as lerobot's dataset
`names` list them) and `observation.images.<cam>` (3, H, W). A mismatch is caught here, before
any motor connects, as one ConfigError naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hardware.errors import ConfigError

IMAGE_PREFIX = "observation.images."


@dataclass(frozen=True)
class FeatureMapping:
    """How robot observations become policy inputs, and policy outputs become robot actions."""

    state_feature: str | None  # "observation.state"
    state_names: tuple[str, ...]  # robot keys, in vector order ("shoulder_pan.pos", …)
    cameras: dict[str, str]  # policy feature -> robot camera key
    action_names: tuple[str, ...]  # robot action keys, in the policy's output order

    def to_policy(self, observation: dict[str, Any]) -> dict[str, np.ndarray]:
        inputs: dict[str, np.ndarray] = {
            feature: observation[camera] for feature, camera in self.cameras.items()
        }
        if self.state_feature is not None:
            inputs[self.state_feature] = np.array(
                [observation[name] for name in self.state_names], dtype=np.float32
            )
        return inputs

    def to_robot(self, action: np.ndarray) -> dict[str, float]:
        return {name: float(value) for name, value in zip(self.action_names, action, strict=True)}


def _renamed(policy: Any, key: str) -> str:
    return getattr(policy, "rename_map", {}).get(key, key)


def match_features(
    policy: Any,
    observation_features: dict[str, Any],
    action_features: dict[str, Any],
    image_sizes: bool = True,
) -> FeatureMapping:
    """Build the mapping and set `policy.output_names` to the robot's action names.

    Raises ConfigError on a state size, camera set, image shape (unless not `image_sizes`: a
    policy server resizes images itself) or action size mismatch.
    """
    positions = [k for k, v in observation_features.items() if v is float]  # lerobot's state order
    cameras = {k: tuple(v) for k, v in observation_features.items() if isinstance(v, tuple)}
    inputs = policy.input_features
    state_feature = next((k for k, f in inputs.items() if f.type == "STATE"), None)
    if state_feature is not None:
        wanted = inputs[state_feature].shape[0]
        if wanted != len(positions):
            raise ConfigError(
                f"policy input {state_feature} has {wanted} values but the robot gives "
                f"{len(positions)} values ({', '.join(positions) or 'none'})"
            )
    by_feature = {_renamed(policy, IMAGE_PREFIX + camera): camera for camera in cameras}
    wanted_cams = [k for k, f in inputs.items() if f.type == "VISUAL"]
    missing = [k.removeprefix(IMAGE_PREFIX) for k in wanted_cams if k not in by_feature]
    if missing:
        raise ConfigError(
            f"the policy needs camera(s) {', '.join(missing)} but the robot has "
            f"{', '.join(cameras) or 'no cameras'}; name the cameras as in training "
            "(--robot.cameras='{" + missing[0] + ": …}')"
        )
    for feature in wanted_cams if image_sizes else ():
        camera = by_feature[feature]
        channels, height, width = inputs[feature].shape
        if cameras[camera] != (height, width, channels):
            h, w, _ = cameras[camera]
            raise ConfigError(
                f"camera {camera} gives {w}x{h} images but the policy was trained on "
                f"{width}x{height}; set the camera's width={width} height={height}"
            )
    others = [k for k, f in inputs.items() if f.type not in ("STATE", "VISUAL")]
    if others:
        raise ConfigError(f"policy inputs {others} have no source on this robot")
    actions = [k for k, v in action_features.items() if v is float]
    if len(actions) != policy.action_dim:
        raise ConfigError(
            f"the policy outputs {policy.action_dim} action values but the robot takes "
            f"{len(actions)} ({', '.join(actions)})"
        )
    policy.output_names = list(actions)
    return FeatureMapping(
        state_feature=state_feature,
        state_names=tuple(positions) if state_feature else (),
        cameras={f: by_feature[f] for f in wanted_cams},
        action_names=tuple(actions),
    )
