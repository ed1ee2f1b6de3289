"""What a test needs from the machine that `make test` installs (tmux, espeak-ng, pygame): under
CI (CI set) a missing one fails the test, elsewhere it skips it, saying how to get it."""

from __future__ import annotations

import os

import pytest


def need(available: bool, what: str) -> None:
    if available:
        return
    why = f"{what} is missing; `make test` installs it"
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)
