"""`lerecord export-policy PATH [--out DIR] [--revision REV]`: export an ACT checkpoint (folder or
Hub repo id) to ONNX, verified against PyTorch, as a folder a robot computer runs with
onnxruntime and no torch (`--policy.path=DIR`). Without --out the export goes to the cache that
`--policy.backend=auto|onnx` uses (under the Hugging Face cache).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from core.config.declared import settings
from core.config.help import command_help
from hardware.errors import ConfigError
from hardware.option import option

SUMMARY = "export an ACT checkpoint to ONNX (verified) for onnxruntime without torch"
USAGE = "lerecord export-policy CHECKPOINT [--out=DIR] [--revision=REV]"


@dataclass(kw_only=True)
class ExportFlags:
    out: str | None = option(
        None,
        help="a new or empty folder, or an export to replace; default: the HF cache's export",
    )
    revision: str | None = option(None, help="Hub revision of the checkpoint (a repo id's)")


def help(argv: list[str]) -> str:
    return command_help(USAGE, SUMMARY, ExportFlags)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lerecord export-policy", description=SUMMARY)
    parser.add_argument("path", help="checkpoint folder or Hub repo id")
    for setting in settings(ExportFlags):
        parser.add_argument(f"--{setting.flag}", default=setting.default)
    args = parser.parse_args(argv)
    for module, why in (("torch", "to trace the model"), ("onnxruntime", "to verify the export")):
        if importlib.util.find_spec(module) is None:
            raise ConfigError(
                f"export-policy needs {module} {why}; pip install 'lerecord[onnx]' (and torch)"
            )
    from core.policy.checkpoint import resolve_folder
    from core.policy.export import cache_root, checkpoint_hash, export_checkpoint
    from core.policy.onnx_act import MANIFEST, is_export

    folder = resolve_folder(args.path, args.revision)
    if is_export(folder):
        raise ConfigError(f"{args.path}: already an ONNX export; give the checkpoint folder")
    out = Path(args.out).expanduser() if args.out else cache_root() / checkpoint_hash(folder)[:32]
    if out.resolve() == folder.resolve():
        raise ConfigError(f"--out={args.out}: that is the checkpoint folder; choose another")
    manifest = json.loads((export_checkpoint(folder, out) / MANIFEST).read_text())
    print(
        f"exported {folder} to {out} (ONNX opset {manifest['opset']}, max abs difference from "
        f"PyTorch {manifest['max_abs_diff']:.2g}); run it with --policy.path={out}"
    )
    return 0
