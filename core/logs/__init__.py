"""Per-step inference logs (`--log=true`): three CSV files written by a background thread."""

from core.logs.columns import LogLayout
from core.logs.writer import InferenceLog

__all__ = ["InferenceLog", "LogLayout"]
