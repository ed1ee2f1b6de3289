"""Checkpoints load from a folder, an older layout or the Hub cache; bad ones fail clearly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from policy_fixture import ACT, copy_checkpoint, observation, reference, require_fixture

from hardware.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ref():
    require_fixture()
    return reference()


def _legacy_checkpoint(folder: Path) -> Path:
    """The fixture re-saved as lerobot < 0.4 did: statistics as buffers in model.safetensors."""
    from safetensors.torch import load_file, save_file

    folder.mkdir()
    weights = load_file(str(ACT / "model.safetensors"))
    pre = load_file(str(ACT / "policy_preprocessor_step_3_normalizer_processor.safetensors"))
    post = load_file(str(ACT / "policy_postprocessor_step_0_unnormalizer_processor.safetensors"))
    for feature in ("observation.state", "observation.images.front"):
        for stat in ("mean", "std"):
            buffer = f"normalize_inputs.buffer_{feature.replace('.', '_')}.{stat}"
            weights[buffer] = pre[f"{feature}.{stat}"]
    for stat in ("mean", "std"):
        weights[f"normalize_targets.buffer_action.{stat}"] = pre[f"action.{stat}"]
        weights[f"unnormalize_outputs.buffer_action.{stat}"] = post[f"action.{stat}"]
    save_file(weights, str(folder / "model.safetensors"))
    shutil.copy(ACT / "config.json", folder / "config.json")
    return folder


def test_older_layout_loads_and_agrees(tmp_path, ref):
    from core.policy import load_policy

    folder = _legacy_checkpoint(tmp_path / "legacy")
    assert not list(folder.glob("policy_*"))
    chunk = load_policy(folder).predict_chunk(observation(ref, 0))
    np.testing.assert_allclose(chunk, ref["step000.action_chunk"], atol=1e-4, rtol=0)


def test_training_checkpoint_folder_is_accepted(tmp_path, ref):
    from core.policy import load_policy

    copy_checkpoint(tmp_path / "checkpoints/last/pretrained_model")
    policy = load_policy(tmp_path / "checkpoints/last")
    np.testing.assert_allclose(
        policy.predict_chunk(observation(ref, 0)), ref["step000.action_chunk"], atol=1e-4
    )


HUB_SCRIPT = """
import sys
import numpy as np
from core.policy import load_policy
from hardware.errors import ConfigError
policy = load_policy("someone/act_so101_test")
obs = {"observation.state": np.zeros(6, np.float32),
       "observation.images.front": np.zeros((48, 64, 3), np.uint8)}
print("chunk", policy.predict_chunk(obs).shape)
try:
    load_policy("someone/not_downloaded")
except ConfigError as error:
    print("error", error)
"""


def test_hub_repo_loads_from_the_local_cache_offline(tmp_path):
    """The real huggingface_hub snapshot_download, against a cache laid out as the Hub leaves it
    (models--user--name/snapshots/<rev>/, refs/main); no network: HF_HUB_OFFLINE=1."""
    require_fixture()
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub/models--someone--act_so101_test"
    copy_checkpoint(repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs/main").write_text(revision)
    env = dict(os.environ, HF_HUB_CACHE=str(tmp_path / "hub"), HF_HUB_OFFLINE="1")
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", HUB_SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "chunk (20, 6)" in out.stdout
    assert "error --policy.path=someone/not_downloaded: not in the local Hugging Face cache" in (
        out.stdout
    )


def _load(folder):
    from core.policy import load_policy

    return load_policy(folder)


def test_missing_weights_are_named(tmp_path):
    require_fixture()
    folder = copy_checkpoint(tmp_path / "ckpt")
    (folder / "model.safetensors").unlink()
    with pytest.raises(ConfigError, match=r"model\.safetensors: missing$"):
        _load(folder)


def test_pickle_only_checkpoint_is_refused_without_unpickling(tmp_path):
    require_fixture()
    folder = copy_checkpoint(tmp_path / "ckpt")
    (folder / "model.safetensors").unlink()
    # a pickle that would run code if it were ever unpickled
    (folder / "pytorch_model.bin").write_bytes(b"cos\nsystem\n(S'touch pwned'\ntR.")
    with pytest.raises(ConfigError, match="only pickle weights pytorch_model.bin"):
        _load(folder)
    assert not (Path.cwd() / "pwned").exists()


def test_corrupt_safetensors_is_reported(tmp_path):
    require_fixture()
    folder = copy_checkpoint(tmp_path / "ckpt")
    (folder / "model.safetensors").unlink()
    (folder / "model.safetensors").write_bytes((ACT / "model.safetensors").read_bytes()[:5000])
    with pytest.raises(ConfigError, match="not a readable safetensors file"):
        _load(folder)


def test_corrupt_statistics_file_is_reported(tmp_path):
    require_fixture()
    folder = copy_checkpoint(tmp_path / "ckpt")
    stats = folder / "policy_postprocessor_step_0_unnormalizer_processor.safetensors"
    stats.unlink()
    stats.write_bytes(b"\x00" * 100)
    with pytest.raises(ConfigError, match="unnormalizer_processor.safetensors: not a readable"):
        _load(folder)


def test_unsupported_policy_type_names_the_supported_ones(tmp_path):
    require_fixture()
    folder = copy_checkpoint(tmp_path / "ckpt", {"type": "diffusion"})
    with pytest.raises(
        ConfigError, match=r"policy type 'diffusion' is not supported \(supported: act\)"
    ):
        _load(folder)


def test_weights_that_do_not_fit_the_config(tmp_path):
    require_fixture()
    folder = copy_checkpoint(tmp_path / "ckpt", {"dim_feedforward": 256})
    with pytest.raises(ConfigError, match=r"weights do not fit config.json: .*linear1.weight"):
        _load(folder)


def test_missing_config_and_missing_folder(tmp_path):
    require_fixture()
    folder = copy_checkpoint(tmp_path / "ckpt")
    (folder / "config.json").unlink()
    with pytest.raises(ConfigError, match=r"config.json: missing"):
        _load(folder)
    with pytest.raises(ConfigError, match="no such folder"):
        _load(tmp_path / "nowhere")


def test_device_that_is_not_there(tmp_path):
    import torch

    from core.policy.loading import resolve_device

    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ConfigError, match="not a device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="--policy.device=cuda:1: no CUDA device here"):
            resolve_device("cuda:1")
    if not torch.backends.mps.is_available():
        with pytest.raises(ConfigError, match="MPS is not available"):
            resolve_device("mps")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"vision_backbone": "resnet50"}, "vision_backbone 'resnet50' is not supported"),
        ({"temporal_ensemble_coeff": 0.01}, "temporal_ensemble_coeff needs n_action_steps=1"),
        ({"n_action_steps": 30}, r"n_action_steps \(30\) must be between 1 and chunk_size"),
        ({"normalization_mapping": {"STATE": "ZSCORE"}}, r"normalization_mapping\[STATE\]"),
    ],
)
def test_configs_lerobot_would_refuse_are_refused(tmp_path, changes, message):
    require_fixture()
    with pytest.raises(ConfigError, match=message):
        _load(copy_checkpoint(tmp_path / "ckpt", changes))
