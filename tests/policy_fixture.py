"""Shared helpers for the policy tests: the lerobot 0.6.1 fixture and copies of it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parent / "data/lerobot-0.6.1"
ACT = FIXTURES / "act_policy"
REFERENCE = FIXTURES / "act_reference.safetensors"


def require_fixture() -> None:
    if not (ACT / "config.json").is_file() or not REFERENCE.is_file():
        pytest.fail(f"lerobot 0.6.1 fixture not found at {FIXTURES} (see tests/data/README.md)")


def reference() -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(REFERENCE))


def observation(ref: dict[str, np.ndarray], step: int) -> dict[str, np.ndarray]:
    prefix = f"step{step:03d}."
    return {k[len(prefix) :]: v for k, v in ref.items() if k.startswith(prefix + "observation.")}


def copy_checkpoint(target: Path, config_changes: dict | None = None) -> Path:
    """A writable copy of the fixture checkpoint (big files linked, config edited)."""
    target.mkdir(parents=True, exist_ok=True)
    for source in ACT.iterdir():
        if source.suffix == ".json":
            shutil.copy(source, target / source.name)
        else:
            (target / source.name).symlink_to(source)
    if config_changes:
        config = json.loads((target / "config.json").read_text())
        config.update(config_changes)
        (target / "config.json").write_text(json.dumps(config))
    return target
