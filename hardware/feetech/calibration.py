"""lerobot's motor calibration: the record, the normalisation math and the JSON files.

A file written here is byte-identical to lerobot's (`draccus.dump(..., indent=4)`), and lerobot's
files load here, at the same place:
`$HF_LEROBOT_CALIBRATION/{robots,teleoperators}/<name>/<id>.json`.
"""

from __future__ import annotations

import enum
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from hardware.errors import ConfigError

log = logging.getLogger(__name__)

FIELDS = ("id", "drive_mode", "homing_offset", "range_min", "range_max")


class NormMode(str, enum.Enum):
    """How a raw position maps to what datasets and policies see (lerobot's MotorNormMode)."""

    RANGE_0_100 = "range_0_100"
    RANGE_M100_100 = "range_m100_100"
    DEGREES = "degrees"


@dataclass
class MotorCalibration:
    id: int
    drive_mode: int
    homing_offset: int
    range_min: int
    range_max: int


Calibration = dict[str, MotorCalibration]


def normalize(raw: int, cal: MotorCalibration, mode: NormMode, resolution: int = 4096) -> float:
    """A raw Present_Position → degrees, ±100 or 0..100, exactly as lerobot computes it."""
    lo, hi = cal.range_min, cal.range_max
    if lo == hi:
        raise ValueError(f"invalid calibration for motor id {cal.id}: range_min equals range_max")
    if mode is NormMode.DEGREES:
        return (raw - (lo + hi) / 2) * 360 / (resolution - 1)
    bounded = min(hi, max(lo, raw))
    if mode is NormMode.RANGE_M100_100:
        value = ((bounded - lo) / (hi - lo)) * 200 - 100
        return -value if cal.drive_mode else value
    value = ((bounded - lo) / (hi - lo)) * 100
    return 100 - value if cal.drive_mode else value


def unnormalize(value: float, cal: MotorCalibration, mode: NormMode, resolution: int = 4096) -> int:
    """The inverse of `normalize`, with lerobot's clamping and truncation."""
    lo, hi = cal.range_min, cal.range_max
    if lo == hi:
        raise ValueError(f"invalid calibration for motor id {cal.id}: range_min equals range_max")
    if mode is NormMode.DEGREES:
        return int((value * (resolution - 1) / 360) + (lo + hi) / 2)
    if mode is NormMode.RANGE_M100_100:
        value = -value if cal.drive_mode else value
        bounded = min(100.0, max(-100.0, value))
        return int(((bounded + 100) / 200) * (hi - lo) + lo)
    value = 100 - value if cal.drive_mode else value
    bounded = min(100.0, max(0.0, value))
    return int((bounded / 100) * (hi - lo) + lo)


# ---- files ---------------------------------------------------------------------------------


def calibration_root() -> Path:
    """lerobot's HF_LEROBOT_CALIBRATION, with the same environment fallbacks."""
    if os.environ.get("HF_LEROBOT_CALIBRATION"):
        return Path(os.environ["HF_LEROBOT_CALIBRATION"]).expanduser()
    if os.environ.get("HF_LEROBOT_HOME"):
        return Path(os.environ["HF_LEROBOT_HOME"]).expanduser() / "calibration"
    hf_home = os.environ.get("HF_HOME") or Path(
        os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface"
    )
    return Path(hf_home).expanduser() / "lerobot" / "calibration"


def calibration_path(kind: str, name: str, device_id: str | None) -> Path:
    """`kind` is "robots" or "teleoperators"; `name` the device's lerobot name ("so_follower").
    ConfigError for an id that is not a file name, or a calibration folder that is a file."""
    flag = "--robot.id" if kind == "robots" else "--teleop.id"
    text = str(device_id)
    if not text.strip() or text in (".", "..") or any(c in text for c in "/\\\x00"):
        raise ConfigError(
            f"{flag}: {device_id!r} cannot name a calibration file; use letters, digits, '_' "
            "or '-' (e.g. my_arm)"
        )
    root = calibration_root()
    for folder in (root, *root.parents):
        if folder.exists():
            if not folder.is_dir():
                raise ConfigError(
                    f"calibration folder {root}: {folder} is a file, not a folder; point "
                    "HF_LEROBOT_CALIBRATION at a folder (or unset it)"
                )
            break
    return root / kind / name / f"{text}.json"


def dumps(calibration: Calibration) -> str:
    """The exact text lerobot writes (draccus json, indent 4, no final newline)."""
    return json.dumps({motor: asdict(cal) for motor, cal in calibration.items()}, indent=4)


def save(calibration: Calibration, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(dumps(calibration))
    tmp.replace(path)
    log.info("calibration saved to %s", path)


def load(path: Path) -> Calibration:
    """Read a calibration file; a malformed one is a ConfigError naming the file and the fix."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        calibration = {
            motor: MotorCalibration(**{key: int(values[key]) for key in FIELDS})
            for motor, values in data.items()
        }
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
        raise ConfigError(
            f"calibration file {path} is unreadable ({str(error)[:120]}); "
            "delete it and run `lerecord calibrate`"
        ) from None
    for motor, cal in calibration.items():
        if cal.range_min == cal.range_max:
            raise ConfigError(
                f"calibration file {path}: {motor} has range_min equal to range_max "
                f"({cal.range_min}); run `lerecord calibrate` again, moving every joint through "
                "its whole range"
            )
    return calibration


@dataclass(frozen=True)
class CalibrationFile:
    """Where one device's calibration is kept, in lerobot's layout: a plain `{motor: …}` file,
    or a file shared with other motors, this device's named with a prefix (LeKiwi's
    `robots/lekiwi/<id>.json`: the arm as `arm_<motor>`, then the wheels)."""

    path: Path
    prefix: str = ""
    others: tuple[tuple[str, MotorCalibration], ...] = ()  # the file's other motors, as written

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> Calibration:
        """This device's motors, by its own names."""
        others = dict(self.others)
        return {
            name.removeprefix(self.prefix): cal
            for name, cal in load(self.path).items()
            if name not in others
        }

    def save(self, calibration: Calibration) -> None:
        mine = {self.prefix + name: cal for name, cal in calibration.items()}
        save({**mine, **dict(self.others)}, self.path)
