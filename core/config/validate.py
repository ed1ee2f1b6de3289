"""The checks a session's configuration passes once its devices are built, before anything opens.

Values that belong to one field are checked by that field's dataclass (`core.config.tree`, the
device configs in `hardware/`) as the configuration is built. What needs several fields or the
devices' features (known before anything connects) is checked here, once, by `check_session`,
which `core.setup.open_session` calls before a policy loads, a motor connects or a file (dataset
or calibration) is written: the teleoperator drives every action the robot takes, every camera's
frame size is known, and the dataset folder can be written with room for an episode.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hardware.errors import ConfigError

SYSTEM_FOLDERS = (Path("/proc"), Path("/sys"), Path("/dev"))
VIDEO_RATIO = 20  # a recorded video takes about 1/20 of its raw RGB frames
ROW_BYTES = 256  # a frame's parquet row, with its share of the metadata


def check_session(config, devices) -> Path:
    """Refuse (ConfigError, one line) what cannot work; return the dataset's folder."""
    from core import priority

    priority.check(config.control_priority)  # realtime required: the OS grants it
    _check_teleop_covers_robot(devices)
    devices.robot.check_files()
    if devices.teleop is not None:
        devices.teleop.check_files()
    shapes = _camera_shapes(devices)
    root = dataset_root(config.dataset)
    if config.rollout is None or config.rollout.strategy.records:  # a base rollout writes none
        _check_dataset_root(root, config, shapes)
    return root


def dataset_root(ds) -> Path:
    from core.dataset import default_root

    return Path(ds.root).expanduser() if ds.root else default_root(ds.repo_id)


def _check_teleop_covers_robot(devices) -> None:
    teleop = devices.teleop
    if teleop is None:
        return
    missing = [name for name in devices.action_names if name not in teleop.action_features]
    if missing:
        types = ", ".join(c.type for c in devices.teleop_configs)
        raise ConfigError(
            f"--teleop: {types} gives no {', '.join(missing)} for {devices.robot_label}; add a "
            'teleoperator for them (e.g. --teleop=\'[{"type": "so101_leader", …}, '
            '{"type": "keyboard"}]\' for LeKiwi\'s base)'
        )


def _camera_shapes(devices) -> dict[str, tuple[int, ...]]:
    features = devices.robot.observation_features
    shapes = {name: features[name] for name in devices.camera_names}
    for name, shape in shapes.items():
        if not all(isinstance(n, int) and n > 0 for n in shape):
            raise ConfigError(
                f"--robot.cameras.{name}: its frame size is not known; give width and height"
            )
    return shapes


def episode_bytes(config, shapes: dict[str, tuple[int, ...]]) -> int:
    """About what one episode takes on disk (videos or PNG frames, and rows)."""
    ds = config.dataset
    frames = round(ds.episode_time_s * ds.fps)
    pixels = sum(h * w * c for h, w, c in shapes.values())
    per_frame = pixels // VIDEO_RATIO if ds.video else pixels // 2
    return frames * (per_frame + ROW_BYTES)


def _check_dataset_root(root: Path, config, shapes: dict[str, tuple[int, ...]]) -> None:
    flag = "--dataset.root" if config.dataset.root else "the dataset folder"
    absolute = Path(os.path.abspath(root))
    if any(absolute.is_relative_to(system) for system in SYSTEM_FOLDERS):
        raise ConfigError(f"{flag}: {root} is a system folder; record into a folder of yours")
    existing = absolute
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        where = "is a file" if existing == absolute else f"is under the file {existing}"
        raise ConfigError(f"{flag}: {root} {where}; give a folder (new or a dataset's)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag}: {existing} is not writable; give a folder you can write to")
    free = shutil.disk_usage(existing).free
    need = episode_bytes(config, shapes)
    if free < need:
        raise ConfigError(
            f"{flag}: only {free / 1e6:.1f} MB free on the disk of {existing}, an episode needs "
            f"about {need / 1e6:.1f} MB; free some space or record elsewhere"
        )
