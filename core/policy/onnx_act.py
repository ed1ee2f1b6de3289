"""ACT on ONNX Runtime: an export folder run with numpy pre- and post-processing, no torch.

An export folder (written by `core.policy.export`, `lerecord export-policy`) holds:
- `model.onnx`: lerecord's ACT module, normalised inputs named as the policy's input features
  (`observation.state` (1, S), `observation.images.<cam>` (1, 3, H, W), float32) to the
  normalised chunk `action` (1, chunk_size, action_dim);
- `config.json`: the checkpoint's own;
- `normalization.safetensors`: the statistics, `normalize/<feature>/<stat>` and
  `unnormalize/<feature>/<stat>`;
- `verification.safetensors`: example inputs as a robot gives them (`input/<feature>`) and the
  unnormalised chunk PyTorch computed for them (`chunk`);
- `lerecord_onnx.json`: the manifest (format, the checkpoint's hash, the normalisation modes, the
  rename map, the input order, the difference measured at export).

Every load runs the example inputs and compares with PyTorch's chunk: more than `TOLERANCE`
apart and the export is refused, with the reason.

ONNX Runtime's intra-op pool: waking sleeping pool threads for every operator costs about a third
of the chunk time on a virtual machine's cores, so the idle pool threads spin between operators;
they run at nice +`POOL_NICE` (the session is created in a thread at that nice, which the pool's
threads inherit on Linux), so the control loop, at nice 0, takes a core from them at once. Where
threads have no nice of their own (not Linux) the pool sleeps instead of spinning.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

from core.policy.config import parse_features, read_config, read_json
from core.policy.normalize import Normalizer, Stats
from core.policy.policy import Policy, act_layout, check_image
from core.step import OutputStats
from core.threads import default_policy_threads
from hardware.errors import ConfigError

log = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "lerecord_onnx.json"
MODEL = "model.onnx"
NORMALIZATION = "normalization.safetensors"
VERIFICATION = "verification.safetensors"
TOLERANCE = 1e-4  # max abs difference from PyTorch's actions, in the robot's units
POOL_NICE = 5  # the intra-op pool's threads, above the control loop's 0 (as the encoders')
NICE_PER_THREAD = sys.platform.startswith("linux")  # a nice per thread, inherited by new ones
# --policy.device -> execution providers to ask for, best first (CPU is always added last)
PROVIDERS = {
    "cpu": (),
    "cuda": ("TensorrtExecutionProvider", "CUDAExecutionProvider"),
    "mps": ("CoreMLExecutionProvider",),
}


def onnxruntime_installed() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def is_export(folder: Path) -> bool:
    return (Path(folder) / MANIFEST).is_file()


def providers_for(device: str) -> list[str] | None:
    """The execution providers for `--policy.device`, or None when this onnxruntime has none
    for it (then only PyTorch can run there)."""
    import onnxruntime

    kind, _, _index = str(device).partition(":")
    wanted = PROVIDERS.get(kind)
    if wanted is None:
        return None
    offered = set(onnxruntime.get_available_providers())
    chosen = [p for p in wanted if p in offered]
    if wanted and not chosen:
        return None
    return chosen + ["CPUExecutionProvider"]


def _provider_options(providers: list[str], device: str) -> list[dict]:
    _, _, index = str(device).partition(":")
    gpu = {"device_id": index} if index else {}
    return [
        gpu if p in ("CUDAExecutionProvider", "TensorrtExecutionProvider") else {}
        for p in providers
    ]


def split_stats(flat: dict[str, np.ndarray]) -> tuple[Stats, Stats]:
    """`normalize/<feature>/<stat>` keys into the normaliser's and unnormaliser's statistics."""
    out: dict[str, Stats] = {"normalize": {}, "unnormalize": {}}
    for key, array in flat.items():
        step, feature, stat = key.split("/")
        out[step].setdefault(feature, {})[stat] = array
    return out["normalize"], out["unnormalize"]


class OnnxACTPolicy(Policy):
    """An ACT export run by ONNX Runtime; the same semantics as `ACTPolicy`."""

    def __init__(
        self,
        folder: Path,
        device: str = "cpu",
        threads: int | None = None,
        spin: bool | None = None,
    ):
        """`spin`: whether the idle pool threads spin (None: where they can be niced)."""
        import onnxruntime
        from safetensors.numpy import load_file

        folder = Path(folder)
        manifest = read_json(folder / MANIFEST)
        if manifest.get("format") != FORMAT:
            raise ConfigError(
                f"{folder / MANIFEST}: export format {manifest.get('format')!r}, this lerecord "
                f"reads format {FORMAT}; export the checkpoint again with lerecord export-policy"
            )
        config = read_config(folder / "config.json")
        super().__init__(*act_layout(config))
        self.folder = folder
        self.config = config
        self.manifest = manifest
        self.rename_map = dict(manifest.get("rename_map", {}))
        self.input_order = list(manifest["inputs"])
        pre_stats, post_stats = split_stats(_read(folder / NORMALIZATION, load_file))
        where = str(folder / NORMALIZATION)
        self._normalize = _normalizer(manifest["normalize"], pre_stats, where)
        self._unnormalize = _normalizer(manifest["unnormalize"], post_stats, where, inverse=True)
        # an image's pixels to its normalised input in two passes: (x - 255 centre) * scale / 255
        self._pixels = {}
        for name, feature in self.input_features.items():
            if feature.type == "VISUAL":
                centre, scale = self._normalize.centre_scale(name)
                self._pixels[name] = (np.float32(255) * centre, np.float32(1 / 255) * scale)
        providers = providers_for(device)
        if providers is None:
            raise ConfigError(
                f"--policy.device={device}: onnxruntime here offers only "
                f"{', '.join(onnxruntime.get_available_providers())}; use --policy.device=cpu, "
                "install the onnxruntime build for that device, or --policy.backend=torch"
            )
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = threads or default_policy_threads()
        self.spin = NICE_PER_THREAD if spin is None else spin
        options.add_session_config_entry("session.intra_op.allow_spinning", str(int(self.spin)))
        options.log_severity_level = 3
        try:
            self._session = _at_pool_nice(
                lambda: onnxruntime.InferenceSession(
                    str(folder / MODEL),
                    options,
                    providers=providers,
                    provider_options=_provider_options(providers, device),
                )
            )
        except Exception as error:  # onnxruntime raises its own Fail / InvalidProtobuf / …
            raise ConfigError(
                f"{folder / MODEL}: onnxruntime cannot load it ({str(error).splitlines()[0]}); "
                "export the checkpoint again with lerecord export-policy"
            ) from error
        self.providers = self._session.get_providers()
        self.where = f"this computer (ONNX Runtime {self.providers[0]})"
        self.threads = options.intra_op_num_threads
        self.max_abs_diff = self.verify(load_file)

    def verify(self, load_file) -> float:
        """Run the stored example inputs; refuse the export if it strays from PyTorch's chunk."""
        example = _read(self.folder / VERIFICATION, load_file)
        inputs = {k.removeprefix("input/"): v for k, v in example.items() if k.startswith("input/")}
        try:
            chunk = self.predict_chunk(inputs)
        except (ValueError, RuntimeError) as error:
            raise ConfigError(f"{self.folder}: the ONNX export does not run ({error})") from error
        diff = float(np.max(np.abs(chunk.astype(np.float64) - example["chunk"])))
        if not diff <= TOLERANCE:  # NaN fails too
            raise ConfigError(
                f"{self.folder}: the ONNX export's actions differ from PyTorch's by {diff:.3g} "
                f"(more than {TOLERANCE:g}) on the checkpoint's example inputs; export it again "
                "(lerecord export-policy) or run --policy.backend=torch"
            )
        self.reset()
        return diff

    def _array(self, name: str, value: np.ndarray) -> np.ndarray:
        feature = self.input_features[name]
        if name in self._pixels:
            image = check_image(name, value).transpose(2, 0, 1)
            centre, scale = self._pixels[name]
            pixels = np.empty((1, *image.shape), dtype=np.float32)
            np.subtract(image, centre, out=pixels[0])
            pixels *= scale
            return pixels
        array = np.asarray(value, dtype=np.float32)
        if array.shape != feature.shape:
            raise ValueError(f"{name}: expected shape {feature.shape}, got {array.shape}")
        return np.asarray(self._normalize(name, array[None]), dtype=np.float32)

    def predict_chunk(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        started = time.perf_counter()
        named = self.named_inputs(observation)
        feeds = {name: self._array(name, named[name]) for name in self.input_order}
        (actions,) = self._session.run(["action"], feeds)
        chunk = np.asarray(self._unnormalize("action", actions[0]), dtype=np.float32)
        self.last_forward_ms = (time.perf_counter() - started) * 1000
        self.last_output_stats = OutputStats.of(chunk)
        return chunk


def _at_pool_nice(create):
    """`create()` run in a thread at nice +POOL_NICE, so the threads it starts inherit it."""
    if not NICE_PER_THREAD:
        return create()
    made: list = []

    def run() -> None:
        try:
            tid = threading.get_native_id()
            nice = min(19, os.getpriority(os.PRIO_PROCESS, tid) + POOL_NICE)
            os.setpriority(os.PRIO_PROCESS, tid, nice)
            made.append(create())
        except BaseException as error:  # handed to the caller, raised there
            made.append(error)

    creator = threading.Thread(target=run, name="onnxruntime-session", daemon=True)
    creator.start()
    creator.join()
    if isinstance(made[0], BaseException):
        raise made[0]
    return made[0]


def _normalizer(step: dict, stats: Stats, where: str, inverse: bool = False) -> Normalizer:
    """One of the manifest's (un)normalisation steps, with the statistics it names."""
    features = parse_features(step["features"], where)
    return Normalizer(
        features, step["norm_map"], stats, eps=step["eps"], inverse=inverse, where=where
    )


def _read(path: Path, load_file) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise ConfigError(
            f"{path}: missing; export the checkpoint again with lerecord export-policy"
        )
    try:
        return load_file(str(path))
    except Exception as error:  # safetensors raises SafetensorError, OSError, ValueError
        raise ConfigError(f"{path}: not a readable safetensors file ({error})") from error
