"""A policy that runs on lerobot's policy server, seen by the runner as any other `Policy`.

The observation lerecord sends is what lerobot's robot client sends: the robot's raw values by
name (`<motor>.pos` floats, each camera's HxWx3 image, the task), described once at setup by
`lerobot_features` (`observation.state` with the motor names, `observation.images.<cam>` with
the camera's shape). Cameras are named as the policy names them, so the server's resize and its
preprocessor find them. Each observation goes with `must_go` set: lerecord asks only when it
needs a chunk, so the server must not skip it as too similar to the previous one.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.policy.config import PolicyFeature, parse_features, read_json
from core.policy.features import IMAGE_PREFIX, FeatureMapping, match_features
from core.policy.policy import Policy, PolicyUnavailable
from core.policy.remote import payloads
from core.policy.remote.server import PolicyServer
from core.policy.schedule import AGGREGATES
from hardware.errors import ConfigError

log = logging.getLogger(__name__)


class RemotePolicy(Policy):
    def __init__(
        self,
        server: PolicyServer,
        input_features: dict[str, PolicyFeature],
        action_dim: int,
        actions_per_chunk: int,
        chunk_size_threshold: float,
        aggregate: str,
        task: str,
    ):
        super().__init__(input_features, action_dim, actions_per_chunk, actions_per_chunk)
        self.server = server
        self.where = f"policy server {server.address} ({server.setup.device})"
        self.request_fraction = chunk_size_threshold
        self.aggregate = AGGREGATES[aggregate]
        self.task = task
        self._state_names: tuple[str, ...] = ()
        self._camera_shapes: dict[str, tuple[int, int, int]] = {}
        # the server pairs an observation with the next GetActions: one exchange at a time
        # (the control thread's first chunk of an episode may meet a worker's late request)
        self._exchange = threading.Lock()

    def bind(self, mapping: FeatureMapping, camera_shapes: dict[str, tuple]) -> None:
        """Name the state values and give the cameras' shapes (robot side), for the setup."""
        self._state_names = mapping.state_names
        self._camera_shapes = {
            feature: tuple(camera_shapes[camera]) for feature, camera in mapping.cameras.items()
        }
        features: dict[str, dict] = {}
        if mapping.state_feature is not None:
            features[mapping.state_feature] = {
                "dtype": "float32",
                "shape": (len(mapping.state_names),),
                "names": list(mapping.state_names),
            }
        for feature, shape in self._camera_shapes.items():
            features[feature] = {
                "dtype": "image",
                "shape": shape,
                "names": ["height", "width", "channels"],
            }
        self.server.setup.lerobot_features = features

    def connect(self) -> None:
        """Announce lerecord and have the server load the policy; a failure is one ConfigError."""
        try:
            seconds = self.server.connect()
        except PolicyUnavailable as error:
            raise ConfigError(str(error)) from None
        log.info("%s set up the policy in %.1f s", self.where, seconds)

    def reconnect(self) -> None:
        with self._exchange:
            self.server.connect()

    def close(self) -> None:
        self.server.close()

    def example_observation(self) -> dict[str, np.ndarray]:
        observation = super().example_observation()
        for feature, (height, width, channels) in self._camera_shapes.items():
            observation[feature] = np.zeros((height, width, channels), dtype=np.uint8)
        return observation

    def chunk_for(self, observation: dict[str, np.ndarray], step: int) -> np.ndarray:
        raw: dict[str, Any] = {}
        state = observation.get("observation.state")
        if state is not None:
            raw.update(zip(self._state_names, map(float, state), strict=True))
        for feature in self._camera_shapes:
            raw[feature.removeprefix(IMAGE_PREFIX)] = observation[feature]
        raw["task"] = self.task
        sent = payloads.TimedObservation(time.time(), step, raw, must_go=True)
        with self._exchange:
            pairs = self.server.chunk(sent)
        steps = [timestep for timestep, _ in pairs]
        if not pairs or steps != list(range(step, step + len(pairs))):
            raise ValueError(
                f"{self.where} answered the observation of step {step} with actions for "
                f"steps {steps[:3]}…; expected {step}, {step + 1}, …"
            )
        chunk = np.stack([action for _, action in pairs])
        if chunk.shape[1] != self.action_dim:
            raise ValueError(
                f"{self.where} sent actions of {chunk.shape[1]} values; the robot takes "
                f"{self.action_dim}"
            )
        return chunk

    def predict_chunk(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        return self.chunk_for(observation, 0)


def connect_remote(config: Any, robot: Any, task: str) -> tuple[RemotePolicy, FeatureMapping]:
    """The policy of `config` (`--policy.server=HOST:PORT` …) set up on lerobot's server.

    The checkpoint's config.json is read when `--policy.path` is a folder here (its type, its
    inputs, checked against the robot); otherwise `--policy.type` names the type and the robot's
    own features are sent as they are. Raises ConfigError (one line) before any motor moves.
    """
    local = _local_config(config.path)
    kind = config.type or (local or {}).get("type")
    if not kind:
        raise ConfigError(
            f"--policy.path={config.path} is not a checkpoint folder here, so the server's "
            "policy type is unknown; give --policy.type=act (or diffusion, smolvla, pi0, …)"
        )
    positions = [k for k, v in robot.observation_features.items() if v is float]
    cameras = {k: tuple(v) for k, v in robot.observation_features.items() if isinstance(v, tuple)}
    actions = [k for k, v in robot.action_features.items() if v is float]
    if local is not None:
        where = f"{config.path}/config.json"
        inputs = parse_features(local.get("input_features"), f"{where} input_features")
        output = parse_features(local.get("output_features"), where).get("action")
        action_dim = output.shape[0] if output is not None else len(actions)
        sizes = (local.get(k) for k in ("chunk_size", "n_action_steps", "horizon"))
        chunk = config.actions_per_chunk or int(next((n for n in sizes if n), 0))
    else:
        inputs = {f"{IMAGE_PREFIX}{c}": PolicyFeature("VISUAL", (s[2], s[0], s[1]))
                  for c, s in cameras.items()}  # fmt: skip
        inputs["observation.state"] = PolicyFeature("STATE", (len(positions),))
        action_dim, chunk = len(actions), config.actions_per_chunk
    if not chunk:
        raise ConfigError(
            "--policy.actions_per_chunk: not given and the checkpoint's chunk_size is unknown "
            "here; give the number of actions the server should send per chunk (e.g. 50)"
        )
    path = config.path
    if Path(path).expanduser().is_dir():
        path = os.path.abspath(Path(path).expanduser())  # the server may share this machine
    setup = payloads.RemotePolicyConfig(kind, path, {}, int(chunk), config.device)
    policy = RemotePolicy(
        PolicyServer(config.server, setup),
        inputs,
        action_dim,
        int(chunk),
        config.chunk_size_threshold,
        config.aggregate,
        task,
    )
    mapping = match_features(
        policy, robot.observation_features, robot.action_features, image_sizes=False
    )
    policy.bind(mapping, cameras)
    policy.connect()
    return policy, mapping


def _local_config(path: str) -> dict | None:
    folder = Path(path).expanduser()
    if folder.is_dir() and not (folder / "config.json").is_file():
        folder = folder / "pretrained_model"  # a training checkpoint folder
    return read_json(folder / "config.json") if (folder / "config.json").is_file() else None
