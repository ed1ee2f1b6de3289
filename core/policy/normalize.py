"""lerobot's normaliser and unnormaliser steps: per feature, by the feature type's mode.

MEAN_STD is `(x - mean) / (std + eps)` (inverse `x * std + mean`); MIN_MAX maps [min, max] to
[-1, 1] (a zero range counts as eps); QUANTILES / QUANTILE10 do the same with q01/q99 and q10/q90;
IDENTITY, or a feature with no statistics, passes through unchanged, as in lerobot.

The statistics are kept as float32 numpy arrays, so the same steps run on numpy arrays (the
ONNX Runtime backend, with no torch installed) or, after `.to(device)`, on torch tensors.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from core.policy.config import PolicyFeature
from hardware.errors import ConfigError

log = logging.getLogger(__name__)

Stats = dict[str, dict[str, Any]]  # feature name -> stat name -> array (numpy or torch tensor)
NEEDED = {"MEAN_STD": ("mean", "std"), "MIN_MAX": ("min", "max"), "QUANTILES": ("q01", "q99")}
NEEDED["QUANTILE10"] = ("q10", "q90")


class Normalizer:
    """Normalises (or, with `inverse=True`, unnormalises) the features it was given."""

    def __init__(
        self,
        features: dict[str, PolicyFeature],
        norm_map: dict[str, str],
        stats: Stats,
        *,
        eps: float = 1e-8,
        inverse: bool = False,
        where: str = "checkpoint",
    ):
        self.eps = eps
        self.inverse = inverse
        self._plan: dict[str, tuple[str, Any, Any]] = {}  # name -> (mode, offset, scale)
        for name, feature in features.items():
            mode = norm_map.get(feature.type, "IDENTITY")
            if mode == "IDENTITY":
                continue
            if name not in stats:
                log.warning("%s: no normalisation statistics for %s; passed unchanged", where, name)
                continue
            low_key, high_key = NEEDED[mode]
            missing = [k for k in (low_key, high_key) if k not in stats[name]]
            if missing:
                raise ConfigError(
                    f"{where}: {mode} normalisation of {name} needs {' and '.join(missing)}, "
                    "which the checkpoint's statistics lack"
                )
            low, high = (np.asarray(stats[name][k], dtype=np.float32) for k in (low_key, high_key))
            if feature.type == "VISUAL" and low.ndim == 1:
                low, high = low.reshape(-1, 1, 1), high.reshape(-1, 1, 1)
            if not (np.isfinite(low).all() and np.isfinite(high).all()):
                raise ConfigError(
                    f"{where}: the normalisation statistics of {name} are not finite "
                    "(the checkpoint was saved without dataset statistics)"
                )
            try:
                np.broadcast_shapes(low.shape, feature.shape)
            except ValueError as error:
                raise ConfigError(
                    f"{where}: statistics of {name} have shape {list(low.shape)}, which does "
                    f"not fit the feature's shape {list(feature.shape)}"
                ) from error
            if mode != "MEAN_STD":  # [low, high] -> [-1, 1]: offset low, scale the span
                span = high - low
                high = np.where(span == 0, np.float32(eps), span).astype(np.float32)
            self._plan[name] = (mode, low, high)

    def to(self, device: Any) -> Normalizer:
        """The statistics as torch tensors on `device` (the PyTorch backend)."""
        import torch

        self._plan = {
            k: (m, torch.from_numpy(a).to(device), torch.from_numpy(b).to(device))
            for k, (m, a, b) in self._plan.items()
        }
        return self

    def centre_scale(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The normalisation of `name` as `(x - centre) * scale`, float32 numpy statistics: the
        same up to rounding (MIN_MAX's centre is the middle of the range, so a zero range, counted
        as eps, gives 0 where `__call__` gives -1)."""
        if name not in self._plan:
            return np.zeros((), np.float32), np.ones((), np.float32)
        mode, low, high = self._plan[name]
        if mode == "MEAN_STD":
            return low, np.asarray(1 / (high + self.eps), np.float32)
        return np.asarray(low + high / 2, np.float32), np.asarray(2 / high, np.float32)

    def __call__(self, name: str, x: Any) -> Any:
        """`x` (numpy array or torch tensor, batch first) normalised or unnormalised."""
        if name not in self._plan:
            return x
        mode, low, high = self._plan[name]
        if mode == "MEAN_STD":
            return x * high + low if self.inverse else (x - low) / (high + self.eps)
        return (x + 1) / 2 * high + low if self.inverse else 2 * (x - low) / high - 1
