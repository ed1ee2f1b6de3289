"""Print lerecord's dependencies without torch, plus the `onnx` extra, one a line: what the
robot-computer environment of `make notorch` installs (tests/test_no_torch.py runs in it)."""

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
project = project["project"]
wanted = project["dependencies"] + project["optional-dependencies"]["onnx"]
sys.stdout.write("".join(f"{d}\n" for d in wanted if not re.match(r"torch\b", d)))
