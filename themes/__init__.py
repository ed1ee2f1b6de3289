"""The console's themes as data: one `<name>.tcss` file each (read by `tui.themes`)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def theme_files() -> dict[str, Path]:
    """Theme name → its .tcss file, for every shipped theme."""
    folder = Path(str(resources.files(__name__)))
    return {path.stem: path for path in sorted(folder.glob("*.tcss"))}
