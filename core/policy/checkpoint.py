"""Find a lerobot policy checkpoint (a folder or a Hub repo id) and read its files.

Two layouts are read:
- lerobot >= 0.4: `model.safetensors` holds the network only; the statistics are in the
  normaliser / unnormaliser state files named by `policy_preprocessor.json` and
  `policy_postprocessor.json` (keys `observation.state.mean`, `action.std` …).
- older: the statistics are buffers inside `model.safetensors`
  (`normalize_inputs.buffer_observation_state.mean`, `unnormalize_outputs.buffer_action.std` …).
Weights come from safetensors only; pickle files (`.bin`, `.pt`, `.pth`) are never opened.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.policy.config import ACTConfig, PolicyFeature, read_config, read_json
from core.policy.normalize import Stats
from hardware.errors import ConfigError

if TYPE_CHECKING:
    import torch

WEIGHTS = "model.safetensors"
PREPROCESSOR = "policy_preprocessor.json"
POSTPROCESSOR = "policy_postprocessor.json"
OLD_PREFIXES = ("normalize_inputs.", "normalize_targets.", "unnormalize_outputs.")
KNOWN_STEPS = {
    "rename_observations_processor",
    "to_batch_processor",
    "device_processor",
    "normalizer_processor",
    "unnormalizer_processor",
}
PICKLES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass
class NormSpec:
    """One normalisation step: which features, how, and with which statistics."""

    features: dict[str, PolicyFeature]
    norm_map: dict[str, str]
    stats: Stats
    eps: float = 1e-8


@dataclass
class Checkpoint:
    folder: Path
    config: ACTConfig
    weights: dict[str, torch.Tensor]  # the network's state dict ("model.…" keys)
    normalize: NormSpec
    unnormalize: NormSpec
    rename_map: dict[str, str] = field(default_factory=dict)
    layout: str = "processor"  # "processor" (lerobot >= 0.4) | "legacy"


def resolve_folder(path_or_repo_id: str | os.PathLike, revision: str | None = None) -> Path:
    """A local checkpoint folder, or the snapshot of a Hub repo (HF cache, HF_HUB_OFFLINE)."""
    text = str(path_or_repo_id)
    local = Path(text).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file() and (local / "pretrained_model").is_dir():
            return local / "pretrained_model"  # a training checkpoint folder
        return local
    if local.exists():
        raise ConfigError(f"--policy.path={text}: give the checkpoint folder, not a file")
    if not REPO_ID.match(text) or text.startswith((".", "/", "~")):
        raise ConfigError(
            f"--policy.path={text}: no such folder, and not a Hub repo id (user/name)"
        )
    return _download(text, revision)


def _download(repo_id: str, revision: str | None) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        folder = snapshot_download(
            repo_id, revision=revision, allow_patterns=["*.json", "*.safetensors", "*.md"]
        )
    except LocalEntryNotFoundError as error:
        raise ConfigError(
            f"--policy.path={repo_id}: not in the local Hugging Face cache and the Hub cannot be "
            "reached (HF_HUB_OFFLINE or no network); download it once while online"
        ) from error
    except GatedRepoError as error:
        raise ConfigError(
            f"--policy.path={repo_id}: the repo is gated; accept its terms on the Hub and log in"
        ) from error
    except RepositoryNotFoundError as error:
        raise ConfigError(
            f"--policy.path={repo_id}: no such model repo on the Hub (or it is private: "
            "log in with `hf auth login`)"
        ) from error
    except RevisionNotFoundError as error:
        raise ConfigError(f"--policy.path={repo_id}: no revision {revision!r}") from error
    except OSError as error:  # network errors, HTTP errors
        raise ConfigError(f"--policy.path={repo_id}: download failed ({error})") from error
    return Path(folder)


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        pickles = sorted(p.name for p in path.parent.glob("*") if p.suffix in PICKLES)
        hint = (
            f" (only pickle weights {', '.join(pickles)}, which lerecord never loads: re-save "
            "the policy with lerobot's save_pretrained)"
            if pickles
            else ""
        )
        raise ConfigError(f"{path}: missing{hint}")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise ConfigError(f"{path}: not a readable safetensors file ({error})") from error


def _processor_step(folder: Path, name: str, registry_name: str) -> tuple[dict, Stats]:
    pipeline = read_json(folder / name)
    steps = pipeline.get("steps", [])
    unknown = [s.get("registry_name") for s in steps if s.get("registry_name") not in KNOWN_STEPS]
    if unknown:
        raise ConfigError(f"{folder / name}: processor steps lerecord does not run: {unknown}")
    step = next((s for s in steps if s.get("registry_name") == registry_name), None)
    if step is None:
        return {}, {}
    stats: Stats = {}
    if step.get("state_file"):
        for flat, tensor in read_safetensors(folder / step["state_file"]).items():
            feature, stat = flat.rsplit(".", 1)
            stats.setdefault(feature, {})[stat] = tensor
    return step.get("config", {}), stats


def _rename_map(folder: Path) -> dict[str, str]:
    steps = read_json(folder / PREPROCESSOR).get("steps", [])
    for step in steps:
        if step.get("registry_name") == "rename_observations_processor":
            return dict(step.get("config", {}).get("rename_map", {}))
    return {}


def _spec(step_config: dict, stats: Stats, fallback: NormSpec, where: str) -> NormSpec:
    if not step_config:
        return NormSpec(fallback.features, fallback.norm_map, stats)
    from core.policy.config import parse_features

    return NormSpec(
        parse_features(step_config.get("features", {}), where),
        dict(step_config.get("norm_map", fallback.norm_map)),
        stats,
        float(step_config.get("eps", 1e-8)),
    )


def _legacy_stats(weights: dict[str, torch.Tensor], prefix: str, names: list[str]) -> Stats:
    stats: Stats = {}
    for name in names:
        buffer = f"{prefix}buffer_{name.replace('.', '_')}."
        for key, tensor in weights.items():
            if key.startswith(buffer):
                stats.setdefault(name, {})[key[len(buffer) :]] = tensor
    return stats


def read_checkpoint(folder: Path) -> Checkpoint:
    config = read_config(folder / "config.json")
    raw = read_safetensors(folder / WEIGHTS)
    mapping = config.normalization_mapping
    inputs = NormSpec(config.input_features, mapping, {})
    outputs = NormSpec(config.output_features, mapping, {})
    if (folder / PREPROCESSOR).is_file():
        layout = "processor"
        if not (folder / POSTPROCESSOR).is_file():
            raise ConfigError(f"{folder / POSTPROCESSOR}: missing (it holds the action statistics)")
        pre, pre_stats = _processor_step(folder, PREPROCESSOR, "normalizer_processor")
        post, post_stats = _processor_step(folder, POSTPROCESSOR, "unnormalizer_processor")
        normalize = _spec(pre, pre_stats, inputs, str(folder / PREPROCESSOR))
        unnormalize = _spec(post, post_stats, outputs, str(folder / POSTPROCESSOR))
        rename_map = _rename_map(folder)
    else:
        layout = "legacy"
        normalize = NormSpec(
            config.input_features,
            mapping,
            _legacy_stats(raw, "normalize_inputs.", list(config.input_features)),
        )
        unnormalize = NormSpec(
            config.output_features,
            mapping,
            _legacy_stats(raw, "unnormalize_outputs.", list(config.output_features)),
        )
        rename_map = {}
    weights = {k: v for k, v in raw.items() if not k.startswith(OLD_PREFIXES)}
    return Checkpoint(folder, config, weights, normalize, unnormalize, rename_map, layout)
