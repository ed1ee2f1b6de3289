"""A policy checkpoint's `config.json`, read into typed settings (no torch needed).

lerobot writes the config with draccus: a flat JSON object with `type`, the input and output
features, `normalization_mapping` and the policy's hyperparameters. Keys lerecord does not use
(optimiser settings, hub settings) are ignored; missing ones take lerobot's defaults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from hardware.errors import ConfigError

SUPPORTED_TYPES = ("act",)
FEATURE_TYPES = ("STATE", "VISUAL", "ENV", "ACTION")
NORM_MODES = ("MEAN_STD", "MIN_MAX", "IDENTITY", "QUANTILES", "QUANTILE10")
RESNET_DEPTHS = {"resnet18": (2, 2, 2, 2), "resnet34": (3, 4, 6, 3)}


@dataclass(frozen=True)
class PolicyFeature:
    """One input or output of a policy, as config.json describes it (`shape` is CHW for images)."""

    type: str  # STATE | VISUAL | ENV | ACTION
    shape: tuple[int, ...]


@dataclass
class ACTConfig:
    """lerobot's `ACTConfig`, the fields inference needs, with lerobot's defaults."""

    input_features: dict[str, PolicyFeature]
    output_features: dict[str, PolicyFeature]
    n_obs_steps: int = 1
    chunk_size: int = 100
    n_action_steps: int = 100
    normalization_mapping: dict[str, str] = field(
        default_factory=lambda: {"VISUAL": "MEAN_STD", "STATE": "MEAN_STD", "ACTION": "MEAN_STD"}
    )
    vision_backbone: str = "resnet18"
    replace_final_stride_with_dilation: bool = False
    pre_norm: bool = False
    dim_model: int = 512
    n_heads: int = 8
    dim_feedforward: int = 3200
    feedforward_activation: str = "relu"
    n_encoder_layers: int = 4
    n_decoder_layers: int = 1
    use_vae: bool = True
    latent_dim: int = 32
    n_vae_encoder_layers: int = 4
    temporal_ensemble_coeff: float | None = None
    dropout: float = 0.1

    @property
    def image_features(self) -> list[str]:
        return [k for k, f in self.input_features.items() if f.type == "VISUAL"]

    @property
    def state_feature(self) -> str | None:
        return next((k for k, f in self.input_features.items() if f.type == "STATE"), None)

    @property
    def env_state_feature(self) -> str | None:
        return next((k for k, f in self.input_features.items() if f.type == "ENV"), None)

    @property
    def action_dim(self) -> int:
        return self.output_features["action"].shape[0]

    def validate(self, where: str) -> None:
        """The checks lerobot's ACTConfig makes, and the types and sizes a network can be
        built from, as one-line ConfigErrors."""
        self._check_types(where)
        if "action" not in self.output_features:
            raise ConfigError(f"{where}: output_features has no 'action' entry")
        if not self.image_features and self.env_state_feature is None:
            raise ConfigError(f"{where}: ACT needs at least one image or environment-state input")
        if self.vision_backbone not in RESNET_DEPTHS:
            raise ConfigError(
                f"{where}: vision_backbone {self.vision_backbone!r} is not supported "
                f"(supported: {', '.join(RESNET_DEPTHS)})"
            )
        if self.replace_final_stride_with_dilation:
            raise ConfigError(f"{where}: replace_final_stride_with_dilation is not supported")
        if self.feedforward_activation not in ("relu", "gelu"):
            raise ConfigError(
                f"{where}: feedforward_activation {self.feedforward_activation!r} is not "
                "supported (relu, gelu)"
            )
        if self.n_obs_steps != 1:
            raise ConfigError(f"{where}: n_obs_steps must be 1 for ACT, got {self.n_obs_steps}")
        if not 1 <= self.n_action_steps <= self.chunk_size:
            raise ConfigError(
                f"{where}: n_action_steps ({self.n_action_steps}) must be between 1 and "
                f"chunk_size ({self.chunk_size})"
            )
        if self.temporal_ensemble_coeff is not None and self.n_action_steps != 1:
            raise ConfigError(
                f"{where}: temporal_ensemble_coeff needs n_action_steps=1, "
                f"got {self.n_action_steps}"
            )
        for kind, mode in self.normalization_mapping.items():
            if mode not in NORM_MODES:
                raise ConfigError(
                    f"{where}: normalization_mapping[{kind}] is {mode!r} "
                    f"(supported: {', '.join(NORM_MODES)})"
                )

    def _check_types(self, where: str) -> None:
        for name in POSITIVE_INTS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{where}: {name} is {value!r}; expected a whole number ≥ 1")
        for name in ("use_vae", "pre_norm", "replace_final_stride_with_dilation"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(
                    f"{where}: {name} is {getattr(self, name)!r}; expected true/false"
                )
        if self.dim_model % self.n_heads:
            raise ConfigError(
                f"{where}: dim_model ({self.dim_model}) is not divisible by n_heads "
                f"({self.n_heads}); the checkpoint's config.json is damaged"
            )
        if (
            isinstance(self.dropout, bool)
            or not isinstance(self.dropout, (int, float))
            or not (0 <= self.dropout < 1)
        ):
            raise ConfigError(f"{where}: dropout is {self.dropout!r}; expected a number in [0, 1)")
        for name in ("vision_backbone", "feedforward_activation"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"{where}: {name} is {getattr(self, name)!r}; expected a name")
        if not isinstance(self.normalization_mapping, dict):
            raise ConfigError(f"{where}: normalization_mapping is not an object")


POSITIVE_INTS = (
    "n_obs_steps",
    "chunk_size",
    "n_action_steps",
    "dim_model",
    "n_heads",
    "dim_feedforward",
    "n_encoder_layers",
    "n_decoder_layers",
    "latent_dim",
    "n_vae_encoder_layers",
)


def parse_features(raw: Any, where: str) -> dict[str, PolicyFeature]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: features must be an object of name -> {{type, shape}}")
    features = {}
    for name, spec in raw.items():
        try:
            kind, shape = str(spec["type"]), tuple(int(n) for n in spec["shape"])
        except (KeyError, TypeError, ValueError) as error:
            raise ConfigError(f"{where}: feature {name!r} needs a type and a shape") from error
        if not shape or any(n < 1 for n in shape):
            raise ConfigError(f"{where}: feature {name!r} has shape {list(shape)}; sizes are ≥ 1")
        if kind not in FEATURE_TYPES:
            raise ConfigError(
                f"{where}: feature {name!r} has type {kind!r} "
                f"(supported: {', '.join(FEATURE_TYPES)})"
            )
        features[name] = PolicyFeature(kind, shape)
    return features


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: missing; a lerobot checkpoint folder has one")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ConfigError(f"{path}: not valid JSON ({str(error)[:120]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data


def read_config(path: Path) -> ACTConfig:
    """Read config.json, dispatching on `type`; anything but a supported type is a ConfigError."""
    raw = read_json(path)
    kind = raw.get("type")
    if kind not in SUPPORTED_TYPES:
        raise ConfigError(
            f"{path}: policy type {kind!r} is not supported "
            f"(supported: {', '.join(SUPPORTED_TYPES)})"
        )
    values: dict[str, Any] = {
        "input_features": parse_features(raw.get("input_features"), f"{path} input_features"),
        "output_features": parse_features(raw.get("output_features"), f"{path} output_features"),
    }
    for spec in fields(ACTConfig):
        if spec.name in values or spec.name not in raw or raw[spec.name] is None:
            continue
        values[spec.name] = raw[spec.name]
    if raw.get("temporal_ensemble_coeff") is not None:
        try:
            values["temporal_ensemble_coeff"] = float(raw["temporal_ensemble_coeff"])
        except (TypeError, ValueError):
            raise ConfigError(f"{path}: temporal_ensemble_coeff is not a number") from None
    try:
        config = ACTConfig(**values)
    except TypeError as error:
        raise ConfigError(f"{path}: {error}") from error
    config.validate(str(path))
    return config
