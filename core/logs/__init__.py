"""Per-step inference logs (`--log=true`): three CSV files written by a background thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.logs.columns import LogLayout
from core.logs.writer import InferenceLog

__all__ = ["InferenceLog", "LogLayout", "open_inference_log"]


def open_inference_log(
    config: Any,
    devices: Any,
    on_warning: Callable[[str], None] | None = None,
    base_dir: str = "inference_logs",
) -> InferenceLog:
    """The session's log: `config` a `RecordConfig`, `devices` what has the robot's `motors`,
    `state_names` (policy state inputs) and `action_names` (`core.devices.Devices`)."""
    return InferenceLog.open(
        base_dir,
        repo_id=config.dataset.repo_id,
        robot_type=config.robot.type,
        motors=devices.motors,
        state_names=devices.state_names,
        action_names=devices.action_names,
        on_warning=on_warning,
    )
