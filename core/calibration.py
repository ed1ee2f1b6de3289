"""Opening a device for calibration, and its live range table: one way for `lerecord calibrate`
(core.commands.calibrate) and the console's calibration screen (tui.screens.calibration)."""

from __future__ import annotations

from typing import Any

from hardware.base import Calibratable, RobotConfig, TeleoperatorConfig
from hardware.errors import ConfigError
from hardware.registry import make_robot, make_teleoperator


def open_for_calibration(config: RobotConfig | TeleoperatorConfig) -> tuple[Any, Any]:
    """Connect a robot or teleoperator without loading its calibration (as lerobot does);
    return it and its calibration steps. Raises ConfigError for a device with no motors."""
    robot = isinstance(config, RobotConfig)
    device = make_robot(config) if robot else make_teleoperator(config)
    if not isinstance(device, Calibratable):
        raise ConfigError(f"calibrate: {config.type} has no motors to calibrate")
    device.connect(calibrate=False)
    try:
        return device, device.calibration_steps()
    except BaseException:
        device.disconnect()
        raise


def range_table(rows: dict) -> list[str]:
    """The joints' min / position / max seen so far, one line each under a header."""
    lines = [f"{'NAME':<15} | {'MIN':>6} | {'POS':>6} | {'MAX':>6}"]
    lines += [f"{m:<15} | {r.min:>6} | {r.pos:>6} | {r.max:>6}" for m, r in rows.items()]
    return lines
