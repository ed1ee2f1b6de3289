"""Any policy type lerobot knows, run in this process by lerobot's own classes (lerobot >= 0.6,
Python >= 3.12): `get_policy_class(type).from_pretrained(path)` and the checkpoint's saved pre- and
post-processor pipelines, as lerobot's policy server runs them. lerecord's runner drives it like
any other `Policy` (chunks computed ahead in its worker, logging, the console's panel).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from core.policy.config import FEATURE_TYPES, PolicyFeature
from core.policy.policy import Policy
from hardware.errors import ConfigError

log = logging.getLogger(__name__)


class LerobotPolicy(Policy):
    """A lerobot `PreTrainedPolicy` with its processors; numpy in and out like every Policy."""

    def __init__(self, model, preprocessor, postprocessor, device, task: str):
        import torch

        config = model.config
        if int(config.n_obs_steps) != 1:
            raise ConfigError(
                f"this {config.type} checkpoint wants a history of n_obs_steps="
                f"{config.n_obs_steps} observations per chunk; lerecord gives a policy the latest "
                "observation only (train with n_obs_steps=1)"
            )
        inputs = {
            name: PolicyFeature(feature.type.value, tuple(feature.shape))
            for name, feature in config.input_features.items()
            if feature.type.value in FEATURE_TYPES
        }
        (action,) = [f for f in config.output_features.values() if f.type.value == "ACTION"]
        chunk_size = len(config.action_delta_indices or [0])
        n_action_steps = int(vars(config).get("n_action_steps") or chunk_size)
        super().__init__(inputs, int(action.shape[0]), chunk_size, n_action_steps)
        self.model, self.preprocessor, self.postprocessor = model, preprocessor, postprocessor
        self.where = f"this computer ({device}, lerobot's {config.type})"
        self.task = task
        self._images = set(config.image_features)
        self._torch = torch
        # Diffusion, VQ-BeT, TD-MPC read observations from the queues their select_action fills
        self._history = vars(model).get("_queues")
        if self._history is not None:
            from lerobot.policies.utils import populate_queues

            self._populate = populate_queues

    def predict_chunk(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        torch = self._torch
        started = time.perf_counter()
        batch: dict = {}
        for name, value in observation.items():
            if name in self._images:
                image = torch.from_numpy(np.ascontiguousarray(value)).permute(2, 0, 1)
                batch[name] = image.to(torch.float32).div_(255).unsqueeze(0)
            else:
                batch[name] = torch.from_numpy(np.asarray(value, np.float32)).unsqueeze(0)
        batch["task"] = self.task
        with torch.inference_mode():
            batch = {k: v for k, v in self.preprocessor(batch).items() if v is not None}
            if self._history is not None:  # as its select_action does, before predicting
                if self._images:
                    images = [batch[key] for key in self.model.config.image_features]
                    batch["observation.images"] = torch.stack(images, dim=-4)
                self._history = self._populate(self._history, batch)
            chunk = self.model.predict_action_chunk(batch)
            if chunk.ndim != 3:
                chunk = chunk.unsqueeze(0)
            actions = [self.postprocessor(chunk[:, i, :]) for i in range(chunk.shape[1])]
        out = torch.stack(actions, dim=1)[0].float().cpu().numpy()
        self.last_forward_ms = (time.perf_counter() - started) * 1000
        return out

    def reset(self) -> None:
        super().reset()
        model = vars(self).get("model")
        if model is not None:
            model.reset()
            self._history = vars(model).get("_queues")


def load_lerobot_policy(path: str, device: str, task: str) -> LerobotPolicy:
    """Load `path` (a folder or Hub repo id) with lerobot's classes; ConfigError on failure."""
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.policies.factory import get_policy_class, make_pre_post_processors

    from core.policy.loading import resolve_device

    torch_device = resolve_device(device)
    try:
        config = PreTrainedConfig.from_pretrained(path)
        config.device = str(torch_device)
        model = get_policy_class(config.type).from_pretrained(path, config=config)
        model.to(torch_device).eval()
        override = {"device_processor": {"device": str(torch_device)}}
        pre, post = make_pre_post_processors(
            model.config,
            pretrained_path=path,
            preprocessor_overrides=override,
            postprocessor_overrides=override,
        )
    except Exception as error:  # lerobot's own words, on one line
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"--policy.path={path}: lerobot could not load it: {first}") from None
    policy = LerobotPolicy(model, pre, post, torch_device, task)
    log.info("loaded lerobot's %s policy from %s on %s", config.type, path, torch_device)
    return policy
