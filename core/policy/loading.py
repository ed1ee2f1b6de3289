"""Which code runs a policy (`backend`: server, native ACT or lerobot; `choose_backend`: torch or
ONNX Runtime for native ACT: the one place these choices are made), and `load_policy`: from a
folder or Hub repo id to lerecord's own ACT, ready on the chosen device."""

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

    folder = resolve_folder(config.path, config.checkpoint_options().get("revision"))
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


def choose_backend(backend: str, device: str = "cpu", use_amp: bool = False) -> str:
    """The runtime, torch or onnx, for `--policy.backend` (auto|torch|onnx): decided here only.

    auto: ONNX Runtime when it is installed, offers an execution provider for the device and
    float32 is asked for (use_amp is a PyTorch feature); PyTorch otherwise.
    """
    from core.policy.onnx_act import onnxruntime_installed, providers_for

    if backend == "torch":
        return "torch"
    if backend == "onnx":
        if not onnxruntime_installed():
            raise ConfigError(
                "--policy.backend=onnx: onnxruntime is not installed; "
                "pip install 'lerecord[onnx]' or use --policy.backend=torch"
            )
        return "onnx"
    if backend != "auto":
        raise ConfigError(f"--policy.backend={backend}: use auto, torch or onnx")
    if not onnxruntime_installed():
        return "torch"
    if use_amp:
        log.info("--policy.use_amp: running PyTorch (the ONNX export is float32)")
        return "torch"
    if providers_for(device) is None:
        log.info("onnxruntime has no execution provider for %s; running PyTorch", device)
        return "torch"
    return "onnx"


def load_policy(
    path_or_repo_id: str | os.PathLike,
    device: str = "cpu",
    use_amp: bool = False,
    revision: str | None = None,
    backend: str = "auto",
    threads: int | None = None,
    overrides: dict[str, Any] | None = None,
) -> Policy:
    """Load a lerobot checkpoint (folder or Hub repo id) or an ONNX export, ready for
    `select_action`, on the backend `choose_backend` picks; `threads`: intra-op threads;
    `overrides`: checkpoint config fields the command line replaces (lerobot-rollout's
    `--policy.n_action_steps=…` and the like; they run on PyTorch).

    Everything is checked here, before a session starts: the folder or download, config.json and
    its type, the weights (safetensors only, strict key and shape match), the normalisation
    statistics, the device, an ONNX export against PyTorch. Any problem is a one-line
    ConfigError; with backend auto a refused ONNX export falls back to PyTorch, saying why.
    """
    from core.policy.checkpoint import resolve_folder
    from core.policy.config import read_config
    from core.policy.onnx_act import OnnxACTPolicy, is_export

    folder = resolve_folder(path_or_repo_id, revision)
    if is_export(folder):
        if backend == "torch":
            raise ConfigError(
                f"--policy.path={path_or_repo_id} is an ONNX export, which runs on "
                "--policy.backend=onnx (or auto); give the checkpoint folder for torch"
            )
        if overrides:
            raise ConfigError(
                f"--policy.path={path_or_repo_id} is an ONNX export: its settings are fixed "
                f"({', '.join(overrides)} cannot be changed); give the checkpoint folder"
            )
        choose_backend("onnx", device)
        policy = OnnxACTPolicy(folder, device, threads)
        _log_loaded(policy, folder, f"ONNX Runtime {', '.join(policy.providers)}")
        return policy
    read_config(folder / "config.json")  # a damaged config is refused before any backend
    chosen = choose_backend(backend, device, use_amp)  # is imported (onnxruntime writes a file)
    if chosen == "onnx" and overrides:
        if backend == "onnx":
            raise ConfigError(
                f"--policy.backend=onnx: {', '.join(overrides)} change the checkpoint, which "
                "runs on PyTorch then; drop them or use --policy.backend=torch"
            )
        log.info("checkpoint settings changed (%s): running PyTorch", ", ".join(overrides))
        chosen = "torch"
    if chosen == "onnx":
        from core.policy.export import cached_onnx_policy

        try:
            policy = cached_onnx_policy(folder, device, threads)
        except ConfigError as error:
            if backend == "onnx":
                raise
            log.warning("ONNX Runtime backend refused: %s; running PyTorch", error)
        else:
            _log_loaded(policy, folder, f"ONNX Runtime {', '.join(policy.providers)}")
            return policy
    return _load_torch(folder, device, use_amp, threads, overrides)


def _load_torch(
    folder, device: str, use_amp: bool, threads: int | None, overrides: dict[str, Any] | None
) -> Policy:
    try:
        import torch  # noqa: F401
    except ImportError as error:
        raise ConfigError(
            f"--policy.path={folder}: torch is not installed; install it, or run an ONNX export "
            "of this checkpoint (lerecord export-policy, then --policy.path=<export folder>)"
        ) from error
    from core.policy.checkpoint import read_checkpoint
    from core.policy.policy import ACTPolicy

    torch_device = resolve_device(device)
    if use_amp and torch_device.type != "cuda":
        log.info("--policy.use_amp applies on CUDA only; running in float32 on %s", torch_device)
    checkpoint = read_checkpoint(folder)
    if overrides:
        checkpoint.config = dataclasses.replace(checkpoint.config, **overrides)
        checkpoint.config.validate("--policy")
    policy = ACTPolicy(checkpoint, torch_device, use_amp=use_amp, threads=threads)
    _log_loaded(policy, checkpoint.folder, f"PyTorch {torch_device} ({checkpoint.layout} layout)")
    return policy


def _log_loaded(policy: Policy, folder, backend: str) -> None:
    log.info(
        "loaded ACT policy from %s on %s: chunk %d, n_action_steps %d",
        folder,
        backend,
        policy.chunk_size,
        policy.n_action_steps,
    )
