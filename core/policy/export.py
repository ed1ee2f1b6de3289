"""Export lerecord's ACT module to ONNX, verified against PyTorch, and the cache of exports.

`export_checkpoint(folder, out)` writes an export folder (see `core.policy.onnx_act`): the model
traced from the checkpoint's weights, the normalisation statistics, and example inputs with
PyTorch's chunk for them; the export is then loaded with ONNX Runtime and refused (nothing left
at `out`) when its actions stray more than `TOLERANCE` from PyTorch's. `cached_onnx_policy`
keeps one export per checkpoint under the Hugging Face cache (`$HF_HOME/lerecord/onnx/<hash>`),
keyed by the hash of the files that decide the actions and by `GRAPH`, never inside the
checkpoint folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from core.policy.checkpoint import POSTPROCESSOR, PREPROCESSOR, WEIGHTS, read_checkpoint
from core.policy.onnx_act import (
    FORMAT,
    MANIFEST,
    MODEL,
    NORMALIZATION,
    VERIFICATION,
    OnnxACTPolicy,
    is_export,
)
from hardware.errors import ConfigError

log = logging.getLogger(__name__)
OPSET = 17
# the exported graph's version, part of the cache key: raise it whenever a change to the ACT
# module or to the export changes the graph, so that a cached export of the old graph is not used
# (2: the encoder's tokens joined in blocks, 3000 nodes down to 600)
GRAPH = 2


def checkpoint_hash(folder: Path) -> str:
    """sha256 of the weights, config.json and the normalisation files, in a fixed order."""
    digest = hashlib.sha256()
    names = [WEIGHTS, "config.json", PREPROCESSOR, POSTPROCESSOR]
    names += sorted(p.name for p in folder.glob("policy_*processor*.safetensors"))
    for name in names:
        path = folder / name
        if path.is_file():
            digest.update(name.encode() + b"\0")
            with path.open("rb") as file:
                for block in iter(lambda: file.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def cache_root() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HOME) / "lerecord" / "onnx"


def cache_folder(digest: str) -> Path:
    """Where the cache keeps the export of the checkpoint with this hash, for this graph."""
    return cache_root() / f"{digest[:32]}-graph{GRAPH}"


def example_inputs(checkpoint, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs as a robot gives them, in the checkpoint's shapes: the state drawn around the
    dataset's statistics, images of random pixels; the same every time for a checkpoint."""
    rng = np.random.default_rng(seed)
    inputs = {}
    for name, feature in checkpoint.config.input_features.items():
        if feature.type == "VISUAL":
            channels, height, width = feature.shape
            inputs[name] = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
            continue
        stats = {
            k: np.asarray(v, dtype=np.float32)
            for k, v in checkpoint.normalize.stats.get(name, {}).items()
        }
        noise = rng.standard_normal(feature.shape).astype(np.float32)
        if "mean" in stats and "std" in stats:
            noise = stats["mean"] + noise * stats["std"]
        elif "min" in stats and "max" in stats:
            noise = stats["min"] + (np.tanh(noise) + 1) / 2 * (stats["max"] - stats["min"])
        inputs[name] = noise.astype(np.float32)
    return inputs


def _traceable(policy, order: list[str]):
    """The ACT module with the export's signature: normalised inputs in `order`, in that order;
    the normalised chunk out."""
    import torch

    config = policy.config

    class Exported(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = policy.model

        def forward(self, *tensors):
            named = dict(zip(order, tensors, strict=True))
            return self.model(
                named.get(config.state_feature),
                named.get(config.env_state_feature),
                [named[name] for name in config.image_features],
            )

    return Exported().eval()


def _stats_arrays(stats_by_feature, step: str) -> dict[str, np.ndarray]:
    arrays = {}
    for feature, stats in stats_by_feature.items():
        for stat, value in stats.items():
            arrays[f"{step}/{feature}/{stat}"] = np.asarray(value, dtype=np.float32)
    return arrays


def export_checkpoint(checkpoint_folder: Path, out: Path) -> Path:
    """Write the verified export of a checkpoint folder at `out`; returns `out`."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not is_export(out):
        raise ConfigError(f"{out}: exists and is not an ONNX export; give a new or empty folder")
    checkpoint = read_checkpoint(checkpoint_folder)
    return export_policy(checkpoint, out, checkpoint_hash(checkpoint_folder))


def export_policy(checkpoint, out: Path, checkpoint_sha256: str = "") -> Path:
    """Write the verified export of a read checkpoint (`core.policy.checkpoint.Checkpoint`)."""
    import torch
    from safetensors.numpy import save_file

    from core.policy.policy import ACTPolicy

    policy = ACTPolicy(checkpoint, torch.device("cpu"))
    order = list(policy.input_features)
    example = example_inputs(checkpoint)
    reference = policy.predict_chunk(example)
    normalized = [policy.input_tensor(name, example[name]) for name in order]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out.parent))
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            # the trace is for batch 1 and the checkpoint's image sizes, which is all it serves
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                torch.onnx.export(
                    _traceable(policy, order),
                    tuple(t.clone() for t in normalized),
                    str(staging / MODEL),
                    input_names=order,
                    output_names=["action"],
                    opset_version=OPSET,
                    dynamo=False,
                )
            except Exception as error:  # torch raises many kinds; the reason is in the text
                reason = (str(error).strip() or type(error).__name__).splitlines()[0]
                where = checkpoint.folder
                raise ConfigError(f"{where}: cannot export to ONNX ({reason})") from error
        config_json = json.dumps(_config_json(checkpoint.config), indent=2) + "\n"
        (staging / "config.json").write_text(config_json, encoding="utf-8")
        stats = _stats_arrays(checkpoint.normalize.stats, "normalize")
        stats |= _stats_arrays(checkpoint.unnormalize.stats, "unnormalize")
        save_file(stats, str(staging / NORMALIZATION))
        verification = {f"input/{k}": np.ascontiguousarray(v) for k, v in example.items()}
        save_file(verification | {"chunk": reference}, str(staging / VERIFICATION))
        manifest = {
            "format": FORMAT,
            "checkpoint_sha256": checkpoint_sha256,
            "source": str(checkpoint.folder),
            "opset": OPSET,
            "graph": GRAPH,
            "torch": torch.__version__,
            "inputs": order,
            "rename_map": checkpoint.rename_map,
            "normalize": _spec_json(checkpoint.normalize),
            "unnormalize": _spec_json(checkpoint.unnormalize),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        exported = OnnxACTPolicy(staging)  # refuses an export that strays from PyTorch
        manifest["max_abs_diff"] = exported.max_abs_diff
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        try:
            staging.rename(out)
        except OSError:  # another session finished the same export first: theirs is as good
            if not is_export(out):
                raise
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info(
        "exported %s to ONNX at %s (max abs difference from PyTorch %.2g)",
        checkpoint.folder,
        out,
        exported.max_abs_diff,
    )
    return out


def _features_json(features) -> dict:
    return {k: {"type": f.type, "shape": list(f.shape)} for k, f in features.items()}


def _spec_json(spec) -> dict:
    return {"features": _features_json(spec.features), "norm_map": dict(spec.norm_map),
            "eps": spec.eps}  # fmt: skip


def _config_json(config) -> dict:
    """config.json as lerobot writes it, for the fields lerecord's ACT reads."""
    values = dataclasses.asdict(config)
    values["input_features"] = _features_json(config.input_features)
    values["output_features"] = _features_json(config.output_features)
    return {"type": "act", **values}


def cached_onnx_policy(
    checkpoint_folder: Path, device: str = "cpu", threads: int | None = None
) -> OnnxACTPolicy:
    """The checkpoint on ONNX Runtime, exported on first use into the cache.

    A cached export that fails its check is exported again once; a fresh export that fails
    raises the ConfigError saying why.
    """
    digest = checkpoint_hash(checkpoint_folder)
    folder = cache_folder(digest)
    if (folder / MANIFEST).is_file():
        try:
            return OnnxACTPolicy(folder, device, threads)
        except ConfigError as error:
            log.warning("cached ONNX export refused (%s); exporting it again", error)
    else:
        log.info("exporting %s to ONNX (once; cached at %s)", checkpoint_folder, folder)
    export_policy(read_checkpoint(checkpoint_folder), folder, digest)
    return OnnxACTPolicy(folder, device, threads)
