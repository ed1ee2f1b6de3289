"""Dataset features from a robot's features, as lerobot's `hw_to_dataset_features` builds them.

`<motor>.pos` floats become the `observation.state` / `action` vectors (names in the robot's
order); `(h, w, 3)` cameras become `observation.images.<cam>` stored as video (or as PNG images in
the parquet when video is off); `(h, w, 1)` ones (a RealSense's `<cam>_depth`) the same, flagged
`is_depth_map` in their info. The five default features lerobot adds to every dataset follow.
"""

from __future__ import annotations

import copy
from typing import Any

from hardware.errors import ConfigError

STATE = "observation.state"
ACTION = "action"
IMAGES_PREFIX = "observation.images."

DEFAULT_FEATURES: dict[str, dict[str, Any]] = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}


# lerobot's per-frame outcome features (lerobot-eval writes them: utils/constants.py REWARD,
# SUCCESS, DONE); lerobot's policies skip them as inputs, its RL buffer reads them.
OUTCOME_FEATURES: dict[str, dict[str, Any]] = {
    "next.reward": {"dtype": "float32", "shape": [1], "names": None},
    "next.success": {"dtype": "bool", "shape": [1], "names": None},
    "next.done": {"dtype": "bool", "shape": [1], "names": None},
}


def dataset_features(
    observation_features: dict[str, Any],
    action_features: dict[str, Any],
    video: bool = True,
    extra: dict[str, dict[str, Any]] | None = None,
    outcomes: bool = False,
) -> dict[str, dict[str, Any]]:
    """The full feature table (action, state, cameras, `extra` such as dagger's
    `intervention`, the outcome features when `outcomes`, then the defaults) for info.json."""
    features: dict[str, dict[str, Any]] = {}
    action_names = [k for k, v in action_features.items() if v is float]
    state_names = [k for k, v in observation_features.items() if v is float]
    if action_names:
        features[ACTION] = {"dtype": "float32", "shape": [len(action_names)], "names": action_names}
    if state_names:
        features[STATE] = {"dtype": "float32", "shape": [len(state_names)], "names": state_names}
    for name, shape in observation_features.items():
        if not isinstance(shape, tuple):
            continue
        if len(shape) != 3 or shape[2] not in (1, 3):
            raise ConfigError(
                f"camera {name!r} has shape {shape}; expected (height, width, 3), "
                "or (height, width, 1) for a depth map"
            )
        if shape[2] == 1 and not video:
            raise ConfigError(
                f"camera {name!r}: a depth map is recorded as video only (as lerobot's); "
                "keep --dataset.video=true or turn use_depth off"
            )
        if not all(isinstance(n, int) and n > 0 for n in shape):
            raise ConfigError(
                f"camera {name!r}: its frame size is not known; give its width and height"
            )
        features[IMAGES_PREFIX + name] = {
            "dtype": "video" if video else "image",
            "shape": list(shape),
            "names": ["height", "width", "channels"],
            "info": {"is_depth_map": shape[2] == 1},
        }
    for name in features:
        if "/" in name:
            raise ConfigError(f"feature name {name!r} contains '/'; rename the motor or camera")
    features.update(copy.deepcopy(extra or {}))
    if outcomes:
        features.update(copy.deepcopy(OUTCOME_FEATURES))
    features.update(copy.deepcopy(DEFAULT_FEATURES))
    return features


def has_outcomes(features: dict[str, dict[str, Any]]) -> bool:
    return all(key in features for key in OUTCOME_FEATURES)


def without_outcomes(features: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {k: ft for k, ft in features.items() if k not in OUTCOME_FEATURES}


def camera_keys(features: dict[str, dict[str, Any]]) -> list[str]:
    return [k for k, ft in features.items() if ft["dtype"] in ("video", "image")]


def is_depth(feature: dict[str, Any]) -> bool:
    """Whether a camera feature holds depth maps (lerobot's `is_depth_map`)."""
    return bool((feature.get("info") or {}).get("is_depth_map"))


def without_info(features: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Features as compared on resume: lerobot ignores each feature's `info` block."""
    out = {}
    for key, ft in features.items():
        out[key] = {k: (list(v) if k == "shape" else v) for k, v in ft.items() if k != "info"}
    return out


def feature_difference(on_disk: dict[str, dict], requested: dict[str, dict]) -> str | None:
    """One phrase naming the first difference between two feature tables, or None."""
    disk, want = without_info(on_disk), without_info(requested)
    for key in want:
        if key not in disk:
            return f"feature {key} is not in the dataset (it has {', '.join(disk)})"
    for key in disk:
        if key not in want:
            return f"feature {key} is in the dataset but not produced by this robot"
    for key, ft in want.items():
        for field in ("dtype", "shape", "names"):
            if disk[key].get(field) != ft.get(field):
                return f"{key} {field} is {disk[key].get(field)} on disk, {ft.get(field)} requested"
    return None
