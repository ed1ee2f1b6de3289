"""The policy interface the runner and scripts use (numpy in, numpy out), and ACT behind it.

`select_action` has lerobot's semantics: observations named as the checkpoint's input features
(`observation.state` float32, `observation.images.<cam>` HxWx3 uint8 RGB), images scaled to [0, 1]
and made CHW, a batch dimension added, the checkpoint's normalisation applied, and one action
returned per call from a queue refilled with the first `n_action_steps` of a new chunk whenever
it runs empty (or, with `temporal_ensemble_coeff`, a chunk every call, ensembled).
"""

from __future__ import annotations

import abc
import contextlib
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from core.policy.config import PolicyFeature
from core.step import OutputStats
from core.threads import default_policy_threads


def check_image(name: str, value: np.ndarray) -> np.ndarray:
    """An HxWx3 RGB image as a numpy array, or a ValueError naming the input."""
    image = np.asarray(value)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{name}: expected an HxWx3 RGB image, got shape {image.shape}")
    return image


class PolicyUnavailable(Exception):
    """The policy cannot be reached for now (its server is lost); the runner holds the arm and
    calls `Policy.reconnect` until it answers again."""


class TemporalEnsembler:
    """lerobot's ACTTemporalEnsembler: online average of every chunk's prediction for a step,
    weighted exp(-coeff * i) with i = 0 for the oldest chunk."""

    def __init__(self, coeff: float, chunk_size: int):
        self.chunk_size = chunk_size
        self.weights = np.exp(-coeff * np.arange(chunk_size))
        self.cumsum = np.cumsum(self.weights)
        self.reset()

    def reset(self) -> None:
        self.actions: np.ndarray | None = None
        self.counts = np.zeros(0, dtype=int)

    def update(self, chunk: np.ndarray) -> np.ndarray:
        chunk = np.asarray(chunk, dtype=np.float64)
        if self.actions is None:
            self.actions, self.counts = chunk.copy(), np.ones(len(chunk), dtype=int)
        else:
            counts = self.counts
            merged = self.actions * self.cumsum[counts - 1][:, None]
            merged += chunk[:-1] * self.weights[counts][:, None]
            merged /= self.cumsum[counts][:, None]
            self.actions = np.concatenate([merged, chunk[-1:]])
            self.counts = np.concatenate([np.minimum(counts + 1, self.chunk_size), [1]])
        action, self.actions, self.counts = self.actions[0], self.actions[1:], self.counts[1:]
        return action.astype(np.float32)


class Policy(abc.ABC):
    """A loaded policy. Subclasses implement `predict_chunk`; the rest is shared.

    `threads` is the intra-op threads its runtime was given (None: not lerecord's to set).

    `output_names` defaults to `action_0 … action_{n-1}` (config.json only gives the action's
    size); `match_features` replaces them with the robot's action names (`shoulder_pan.pos` …).

    A policy running elsewhere (lerobot's policy server) declares how the runner asks for chunks
    and merges them: `request_fraction` (ask when no more than this fraction of a chunk is left,
    lerobot's `chunk_size_threshold`; None: when the actions left cover the forward time) and
    `aggregate` (old, new -> action for a step two chunks cover; None: the newer replaces).
    """

    where: str = "this computer"  # where the model runs, for the console's policy panel
    request_fraction: float | None = None
    aggregate: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

    def __init__(
        self,
        input_features: dict[str, PolicyFeature],
        action_dim: int,
        chunk_size: int,
        n_action_steps: int,
        temporal_ensemble_coeff: float | None = None,
    ):
        self.input_features = dict(input_features)
        self.output_names = [f"action_{i}" for i in range(action_dim)]
        self.chunk_size = chunk_size
        self.n_action_steps = n_action_steps
        self.temporal_ensemble_coeff = temporal_ensemble_coeff
        self.last_output_stats: OutputStats | None = None
        self.last_forward_ms: float | None = None
        self.rename_map: dict[str, str] = {}
        self.threads: int | None = None
        self.reset()

    @property
    def action_dim(self) -> int:
        return len(self.output_names)

    @abc.abstractmethod
    def predict_chunk(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        """A whole chunk of actions, float32 [chunk_size, action_dim], in the robot's units."""

    def chunk_for(self, observation: dict[str, np.ndarray], step: int) -> np.ndarray:
        """The chunk for the observation of `step` (a remote policy tells the server the step)."""
        return self.predict_chunk(observation)

    def reconnect(self) -> None:
        """Set the policy up again after PolicyUnavailable (only a remote policy loses it)."""

    def close(self) -> None:
        """Let go of what the policy holds (a remote policy's connection)."""

    def reset(self) -> None:
        """Forget queued actions (call at every episode start)."""
        self._queue: deque[np.ndarray] = deque()
        self._ensembler = (
            TemporalEnsembler(self.temporal_ensemble_coeff, self.chunk_size)
            if self.temporal_ensemble_coeff is not None
            else None
        )

    def named_inputs(self, observation: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The observation under the checkpoint's input names; a missing input is an error."""
        named = {self.rename_map.get(key, key): value for key, value in observation.items()}
        missing = [name for name in self.input_features if name not in named]
        if missing:
            raise ValueError(f"observation lacks the policy's inputs {missing}")
        return named

    def select_action(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        """The action for this step, float32 [action_dim] (lerobot's select_action)."""
        if self._ensembler is not None:
            return self._ensembler.update(self.predict_chunk(observation))
        if not self._queue:
            self._queue.extend(self.predict_chunk(observation)[: self.n_action_steps])
        return self._queue.popleft().copy()

    def example_observation(self) -> dict[str, np.ndarray]:
        """Zeros in the shapes the policy expects (for warm-up and benchmarks)."""
        observation = {}
        for name, feature in self.input_features.items():
            if feature.type == "VISUAL":
                channels, height, width = feature.shape
                observation[name] = np.zeros((height, width, channels), dtype=np.uint8)
            else:
                observation[name] = np.zeros(feature.shape, dtype=np.float32)
        return observation


def act_layout(config) -> tuple:
    """What `Policy` needs of an ACT config: inputs, action size, chunk, steps, ensembling."""
    return (
        config.input_features,
        config.action_dim,
        config.chunk_size,
        config.n_action_steps,
        config.temporal_ensemble_coeff,
    )


class ACTPolicy(Policy):
    """lerobot's ACTPolicy with its pre- and post-processors, in plain PyTorch."""

    def __init__(self, checkpoint, device, use_amp: bool = False, threads: int | None = None):
        import torch

        from core.policy.act import ACT
        from core.policy.normalize import Normalizer
        from core.policy.weights import load_weights

        config = checkpoint.config
        super().__init__(*act_layout(config))
        self.config = config
        self.device = device
        self.use_amp = bool(use_amp) and device.type == "cuda"
        self.rename_map = dict(checkpoint.rename_map)
        self.model = ACT(config)
        load_weights(self.model, checkpoint.weights, checkpoint.folder)
        self.model.to(device).eval()
        pre, post = checkpoint.normalize, checkpoint.unnormalize
        where = str(checkpoint.folder)
        self._normalize = Normalizer(
            pre.features, pre.norm_map, pre.stats, eps=pre.eps, where=where
        ).to(device)
        self._unnormalize = Normalizer(
            post.features, post.norm_map, post.stats, eps=post.eps, inverse=True, where=where
        ).to(device)
        self._torch = torch
        self.where = f"this computer (PyTorch {device})"
        self.threads = threads or default_policy_threads()
        torch.set_num_threads(self.threads)  # process-wide in torch

    def input_tensor(self, name: str, value: np.ndarray):
        """One input as the network takes it: batched, normalised, on the device."""
        torch = self._torch
        feature = self.input_features[name]
        if feature.type == "VISUAL":
            image = check_image(name, value)
            tensor = torch.from_numpy(np.ascontiguousarray(image)).to(self.device)
            tensor = tensor.to(torch.float32).div_(255).permute(2, 0, 1)
        else:
            array = np.asarray(value, dtype=np.float32)
            if array.shape != feature.shape:
                raise ValueError(f"{name}: expected shape {feature.shape}, got {array.shape}")
            tensor = torch.from_numpy(array).to(self.device)
        return self._normalize(name, tensor.unsqueeze(0))

    def predict_chunk(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        torch = self._torch
        started = time.perf_counter()
        named = self.named_inputs(observation)
        amp = torch.autocast(device_type="cuda") if self.use_amp else contextlib.nullcontext()
        config = self.config
        with torch.inference_mode(), amp:
            inputs = {name: self.input_tensor(name, named[name]) for name in self.input_features}
            actions = self.model(
                inputs.get(config.state_feature),
                inputs.get(config.env_state_feature),
                [inputs[name] for name in config.image_features],
            )
            actions = self._unnormalize("action", actions.float())
        chunk = actions[0].cpu().numpy().astype(np.float32, copy=False)
        self.last_forward_ms = (time.perf_counter() - started) * 1000
        self.last_output_stats = OutputStats.of(chunk)
        return chunk
