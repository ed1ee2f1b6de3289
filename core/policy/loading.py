"""Which code runs a policy (`backend`: the one place that choice is made), and `load_policy`:
from a folder or Hub repo id to lerecord's own ACT, ready on the chosen device."""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any

from core.policy.policy import Policy
from hardware.errors import ConfigError

log = logging.getLogger(__name__)


def resolve_device(name: str):
    """cpu, cuda, cuda:N or mps as a torch.device; one that is not there is a ConfigError."""
    import torch

    text = str(name).strip().lower()
    try:
        device = torch.device(text)
    except RuntimeError as error:
        raise ConfigError(
            f"--policy.device={name}: not a device (use cpu, cuda, cuda:N or mps)"
        ) from error
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError(
                f"--policy.device={name}: no CUDA device here (torch {torch.__version__}); "
                "use --policy.device=cpu"
            )
        if device.index is not None and device.index >= count:
            raise ConfigError(
                f"--policy.device={name}: only {count} CUDA device(s) (cuda:0…cuda:{count - 1})"
            )
        return device
    if device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError(f"--policy.device={name}: MPS is not available here; use cpu")
        return device
    if device.type == "xpu":
        if not (hasattr(torch, "xpu") and torch.xpu.is_available()):
            raise ConfigError(f"--policy.device={name}: no Intel XPU here; use cpu")
        return device
    raise ConfigError(f"--policy.device={name}: not supported (use cpu, cuda, cuda:N or mps)")


SERVER, NATIVE_ACT, LEROBOT = "server", "act", "lerobot"


def backend(config) -> str:
    """How `config` (lerecord's PolicyConfig) runs: SERVER with `--policy.server` (lerobot's
    policy server, any type it knows); NATIVE_ACT for an ACT checkpoint (lerecord's own, no
    lerobot needed); LEROBOT for any other type when lerobot is importable here. A type nothing
    here can run is a ConfigError naming it and both ways forward."""
    if config.server is not None:
        return SERVER
    from core.policy.checkpoint import resolve_folder
    from core.policy.config import read_json

    folder = resolve_folder(config.path, config.revision())
    kind = read_json(folder / "config.json").get("type")
    if kind == "act":
        return NATIVE_ACT
    if lerobot_importable():
        return LEROBOT
    raise ConfigError(
        f"--policy.path={config.path}: policy type {kind!r} runs only through lerobot's own "
        "classes, and lerobot is not installed in this Python; either install it "
        "(pip install 'lerecord[lerobot]', Python >= 3.12) or run the policy on lerobot's "
        "policy server (python -m lerobot.async_inference.policy_server) and give "
        "--policy.server=HOST:PORT"
    )


def lerobot_importable() -> bool:
    import importlib.util

    return importlib.util.find_spec("lerobot") is not None


def load_policy(
    path_or_repo_id: str | os.PathLike,
    device: str = "cpu",
    use_amp: bool = False,
    revision: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> Policy:
    """Load a lerobot checkpoint (folder or Hub repo id) ready for `select_action`.

    Everything is checked here, before a session starts: the folder or download, config.json and
    its type, the weights (safetensors only, strict key and shape match), the normalisation
    statistics, the device. Any problem is a one-line ConfigError.
    """
    from core.policy.checkpoint import read_checkpoint, resolve_folder
    from core.policy.policy import ACTPolicy

    torch_device = resolve_device(device)
    if use_amp and torch_device.type != "cuda":
        log.info("--policy.use_amp applies on CUDA only; running in float32 on %s", torch_device)
    checkpoint = read_checkpoint(resolve_folder(path_or_repo_id, revision))
    if overrides:  # `--policy.n_action_steps=…` and the like (lerobot-rollout's overrides)
        checkpoint.config = dataclasses.replace(checkpoint.config, **overrides)
        checkpoint.config.validate("--policy")
    policy = ACTPolicy(checkpoint, torch_device, use_amp=use_amp)
    policy.where = f"this computer ({torch_device})"
    log.info(
        "loaded ACT policy from %s (%s layout) on %s: chunk %d, n_action_steps %d",
        checkpoint.folder,
        checkpoint.layout,
        torch_device,
        policy.chunk_size,
        policy.n_action_steps,
    )
    return policy
