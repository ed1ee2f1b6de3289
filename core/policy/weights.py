"""Load a checkpoint's state dict into a freshly built network, strictly, with clear errors."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from hardware.errors import ConfigError

PREFIX = "model."


def _sample(keys: list[str]) -> str:
    shown = ", ".join(keys[:3])
    return shown + (f" … (+{len(keys) - 3})" if len(keys) > 3 else "")


def load_weights(model: nn.Module, weights: dict[str, torch.Tensor], folder: Path) -> None:
    """Copy `model.*` weights into `model`; any missing, extra or misshapen tensor is an error."""
    where = folder / "model.safetensors"
    state = {
        k[len(PREFIX) :] if k.startswith(PREFIX) else "<no model. prefix>" + k: v
        for k, v in weights.items()
    }
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    misshapen = [
        f"{k}: checkpoint {list(state[k].shape)} vs config {list(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing ({_sample(missing)})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected ({_sample(unexpected)})")
    if misshapen:
        problems.append(f"{len(misshapen)} of another shape ({_sample(misshapen)})")
    if problems:
        raise ConfigError(
            f"{where}: weights do not fit config.json: {'; '.join(problems)}; "
            "config.json and model.safetensors must come from the same checkpoint"
        )
    model.load_state_dict(state, strict=True)
