"""A benchmark's table: printed, and with `--append` added to its file under bench/results/."""

from __future__ import annotations

import sys
from pathlib import Path


def publish(text: str, results: Path, append: bool) -> None:
    """Print `text`; with `append`, add it (and a blank line) to `results`."""
    sys.stdout.write(text)
    if append:
        results.parent.mkdir(parents=True, exist_ok=True)
        with results.open("a", encoding="utf-8") as out:
            out.write(text + "\n")
