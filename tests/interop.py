"""The real lerobot 0.6.1, in its own Python 3.12 environment (built by `make interop`).

lerobot 0.6.1 needs Python >= 3.12, and lerecord's venv is the machine's Python: the interop
tests run lerobot in that other interpreter, as a subprocess (a dataset loader, lerobot's policy
server, its config classes). `make test` builds the environment once (cached outside the clone,
in ~/.cache/lerecord/) and passes its interpreter in LERECORD_LEROBOT_PYTHON. Without it the
tests fail under CI (they must run there) and skip elsewhere, saying how to get it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess

import pytest

LEROBOT_PYTHON = os.environ.get("LERECORD_LEROBOT_PYTHON", "")


def lerobot_python() -> str:
    """The interpreter with lerobot 0.6.1, or skip / fail (CI) with how to get one."""
    if LEROBOT_PYTHON and os.access(LEROBOT_PYTHON, os.X_OK):
        return LEROBOT_PYTHON
    why = (
        "lerobot 0.6.1 interop environment not found "
        f"(LERECORD_LEROBOT_PYTHON={LEROBOT_PYTHON!r}); "
        "run the tests with `make test`, which builds it"
    )
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


def run_lerobot(args: list[str], *, timeout: float = 300, env: dict | None = None, **kw):
    """Run the interop interpreter offline (no Hub), returning the CompletedProcess."""
    full_env = dict(os.environ, HF_HUB_OFFLINE="1", **(env or {}))
    return subprocess.run(
        [lerobot_python(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        **kw,
    )


def lerobot_docstring(module: str) -> str:
    """The docstring of one of lerobot's modules (its example command lines live there)."""
    out = run_lerobot(["-c", f"import {module} as m; print(m.__doc__)"], timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def example_argv(block: str) -> list[str]:
    """A command line of lerobot's docs split as a shell would; the JSON values the docs leave
    unquoted are quoted as a user quotes them for the shell."""
    line = " ".join(block.replace("\\\n", " ").split())
    line = re.sub(r"(--[\w.]+=)(\{[^'\n]*?\})(?= --| *$)", r"\1'\2'", line)
    return shlex.split(line)
