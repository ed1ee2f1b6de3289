"""The real lerobot 0.6.1, in its own Python 3.12 environment (built by `make interop`).

lerobot 0.6.1 needs Python >= 3.12, and lerecord's venv is the machine's Python: the interop
tests run lerobot in that other interpreter, as a subprocess (a dataset loader, lerobot's policy
server, its config classes). `make test` builds the environment once (cached outside the clone,
in ~/.cache/lerecord/) and passes its interpreter in LERECORD_LEROBOT_PYTHON. Without it the
tests fail under CI (they must run there) and skip elsewhere, saying how to get it.
"""

from __future__ import annotations

import os
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
