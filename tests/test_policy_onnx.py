"""ACT on ONNX Runtime: the export gives lerobot 0.6.1's actions, is cached outside the
checkpoint, and an export that strays from PyTorch is refused with the reason."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from policy_fixture import ACT, observation, reference, require_fixture

from hardware.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def ref():
    require_fixture()
    return reference()


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    from core.policy.export import export_checkpoint

    return export_checkpoint(ACT, tmp_path_factory.mktemp("export") / "act_onnx")


@pytest.fixture
def hf_home(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HOME", str(tmp_path / "hf"))
    return tmp_path / "hf"


def test_export_round_trip_gives_lerobots_actions(export, ref):
    from core.policy.onnx_act import OnnxACTPolicy

    assert sorted(p.name for p in export.iterdir()) == [
        "config.json", "lerecord_onnx.json", "model.onnx",
        "normalization.safetensors", "verification.safetensors",
    ]  # fmt: skip
    manifest = json.loads((export / "lerecord_onnx.json").read_text())
    assert manifest["inputs"] == ["observation.state", "observation.images.front"]
    assert 0 <= manifest["max_abs_diff"] <= TOLERANCE
    policy = OnnxACTPolicy(export)
    chunk = policy.predict_chunk(observation(ref, 0))
    np.testing.assert_allclose(chunk, ref["step000.action_chunk"], atol=TOLERANCE, rtol=0)
    policy.reset()
    actions = np.stack([policy.select_action(observation(ref, step)) for step in range(43)])
    np.testing.assert_allclose(actions, ref["select_action_sequence"], atol=TOLERANCE, rtol=0)
    assert policy.providers == ["CPUExecutionProvider"]


def test_auto_exports_once_into_the_hf_cache_never_the_checkpoint(hf_home, ref):
    from core.policy import load_policy
    from core.policy.onnx_act import OnnxACTPolicy
    from core.policy.policy import ACTPolicy

    before = sorted(p.name for p in ACT.iterdir())
    policy = load_policy(ACT, threads=1)
    assert isinstance(policy, OnnxACTPolicy) and policy.threads == 1
    (cached,) = (hf_home / "lerecord" / "onnx").iterdir()
    assert policy.folder == cached
    model_time = (cached / "model.onnx").stat().st_mtime_ns
    again = load_policy(ACT)
    assert again.folder == cached and (cached / "model.onnx").stat().st_mtime_ns == model_time
    assert sorted(p.name for p in ACT.iterdir()) == before
    np.testing.assert_allclose(
        again.predict_chunk(observation(ref, 3)),
        load_policy(ACT, backend="torch").predict_chunk(observation(ref, 3)),
        atol=TOLERANCE,
        rtol=0,
    )
    assert isinstance(load_policy(ACT, backend="torch"), ACTPolicy)


def test_a_cached_export_of_another_graph_version_is_not_used(hf_home, monkeypatch):
    from core.policy import export as export_module
    from core.policy import load_policy

    old = load_policy(ACT, backend="onnx").folder
    assert json.loads((old / "lerecord_onnx.json").read_text())["graph"] == export_module.GRAPH
    monkeypatch.setattr(export_module, "GRAPH", export_module.GRAPH + 1)
    new = load_policy(ACT, backend="onnx").folder
    assert new != old and new.parent == old.parent
    assert json.loads((new / "lerecord_onnx.json").read_text())["graph"] == export_module.GRAPH
    assert sorted(p.name for p in old.parent.iterdir()) == sorted([old.name, new.name])


def _thread_nice() -> dict[int, int]:
    """This process's threads and their nice (field 19 of /proc/<pid>/task/<tid>/stat)."""
    nice = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        nice[int(task.name)] = int(fields[16])
    return nice


def test_the_spinning_pool_runs_below_the_control_loop(export, ref):
    import threading

    from core.policy.onnx_act import POOL_NICE, OnnxACTPolicy

    assert sys.platform.startswith("linux")  # per-thread nice: the pool spins only there
    caller = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    before = _thread_nice()
    spinning = OnnxACTPolicy(export, threads=3)
    pool = {tid: nice for tid, nice in _thread_nice().items() if tid not in before}
    assert spinning.spin and spinning.threads == 3
    assert len(pool) == 2 and set(pool.values()) == {min(19, caller + POOL_NICE)}  # 2 workers
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == caller  # kept
    sleeping = OnnxACTPolicy(export, threads=3, spin=False)
    assert not sleeping.spin
    for step in (0, 5):
        np.testing.assert_array_equal(
            spinning.predict_chunk(observation(ref, step)),
            sleeping.predict_chunk(observation(ref, step)),
        )


def _corrupt(folder: Path) -> None:
    """Shift one weight of the action head: the model still loads, its actions are wrong."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(folder / "model.onnx"))
    tensor = next(t for t in model.graph.initializer if t.name.endswith("action_head.bias"))
    tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor) + 0.05, tensor.name))
    onnx.save(model, str(folder / "model.onnx"))


def test_an_export_that_strays_from_pytorch_is_refused(export, tmp_path):
    from core.policy import load_policy
    from core.policy.onnx_act import OnnxACTPolicy

    bad = shutil.copytree(export, tmp_path / "bad")
    _corrupt(bad)
    with pytest.raises(ConfigError, match=r"differ from PyTorch's by .* \(more than 0\.0001\)"):
        OnnxACTPolicy(bad)
    with pytest.raises(ConfigError, match="differ from PyTorch's"):
        load_policy(bad, backend="onnx")
    with pytest.raises(ConfigError, match="differ from PyTorch's"):
        load_policy(bad)  # an export given by path is never swapped for something else
    (bad / "model.onnx").write_bytes(b"not an onnx model")
    with pytest.raises(ConfigError, match="onnxruntime cannot load it"):
        OnnxACTPolicy(bad)
    with pytest.raises(ConfigError, match="is an ONNX export"):
        load_policy(export, backend="torch")


def test_a_corrupted_cache_is_exported_again(hf_home, ref, caplog):
    from core.policy import load_policy

    first = load_policy(ACT, backend="onnx")
    _corrupt(first.folder)
    again = load_policy(ACT, backend="onnx")
    assert "cached ONNX export refused" in caplog.text
    np.testing.assert_allclose(
        again.predict_chunk(observation(ref, 0)), ref["step000.action_chunk"], atol=TOLERANCE
    )


def test_auto_falls_back_to_torch_when_the_export_is_refused(hf_home, monkeypatch, caplog):
    from core.policy import export as export_module
    from core.policy import load_policy
    from core.policy.policy import ACTPolicy

    def refuse(*args, **kwargs):
        raise ConfigError("the ONNX export's actions differ from PyTorch's by 0.3")

    monkeypatch.setattr(export_module, "cached_onnx_policy", refuse)
    assert isinstance(load_policy(ACT), ACTPolicy)
    assert "ONNX Runtime backend refused" in caplog.text and "differ" in caplog.text
    with pytest.raises(ConfigError, match="differ from PyTorch's by 0.3"):
        load_policy(ACT, backend="onnx")


def test_backend_choice(export):
    from core.policy.loading import choose_backend

    assert choose_backend("auto", "cpu") == "onnx"
    assert choose_backend("auto", "cpu", use_amp=True) == "torch"
    assert choose_backend("torch", "cpu") == "torch"
    assert choose_backend("auto", "cuda") == "torch"  # this onnxruntime is the CPU build
    with pytest.raises(ConfigError, match="--policy.device=cuda: onnxruntime here offers only"):
        from core.policy.onnx_act import OnnxACTPolicy

        OnnxACTPolicy(export, device="cuda")


def _cli(*args: str, hf_home: Path) -> subprocess.CompletedProcess:
    env = {"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "core.cli", "export-policy", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )


def test_export_policy_command(tmp_path, ref):
    from core.policy import load_policy

    out = tmp_path / "robot_pc"
    done = _cli(str(ACT), "--out", str(out), hf_home=tmp_path / "hf")
    assert done.returncode == 0, done.stderr
    assert f"--policy.path={out}" in done.stdout
    policy = load_policy(out)
    np.testing.assert_allclose(
        policy.predict_chunk(observation(ref, 0)), ref["step000.action_chunk"], atol=TOLERANCE
    )
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    refused = _cli(str(ACT), "--out", str(taken), hf_home=tmp_path / "hf")
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "is not an ONNX export" in refused.stderr
    assert sorted(p.name for p in taken.iterdir()) == ["notes.txt"]
    assert not (tmp_path / "hf").exists()


def test_an_export_that_fails_leaves_nothing_and_says_why(tmp_path, monkeypatch):
    import torch

    from core.policy.export import export_checkpoint

    def unsupported(*args, **kwargs):  # as torch's exporter fails on an operator it lacks
        raise RuntimeError("Exporting the operator 'aten::frobnicate' is not supported")

    monkeypatch.setattr(torch.onnx, "export", unsupported)
    with pytest.raises(ConfigError, match=r"cannot export to ONNX \(Exporting the operator"):
        export_checkpoint(ACT, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
