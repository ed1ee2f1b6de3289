"""The dataset's metadata as the writer keeps it: info.json, tasks, statistics, and where the next
episode's rows and videos go. `create` starts a dataset; `open_existing` reads one back for resume,
refusing (before touching anything) when it does not match the session's fps, robot or features.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from core.dataset import commit
from core.dataset.features import camera_keys, feature_difference, without_outcomes
from core.dataset.layout import (
    CHUNKS_SIZE,
    CODEBASE_VERSION,
    DATA_FILES_SIZE_IN_MB,
    DATA_PATH,
    INFO_PATH,
    SCRATCH_DIR,
    STATS_PATH,
    TASKS_PATH,
    VIDEO_FILES_SIZE_IN_MB,
    VIDEO_PATH,
    next_file,
    read_json,
    write_json,
)
from core.dataset.stats import Stats, from_lists
from hardware.errors import ConfigError

logger = logging.getLogger(__name__)


@dataclass
class FileCursor:
    """The parquet file the next episode is appended to (`exists`: it already has episodes)."""

    chunk: int = 0
    file: int = 0
    exists: bool = False

    def advance(self) -> None:
        self.chunk, self.file = next_file(self.chunk, self.file)
        self.exists = False


@dataclass
class DatasetMeta:
    root: Path
    repo_id: str
    info: dict[str, Any]
    tasks: list[str] = field(default_factory=list)
    stats: dict[str, Stats] | None = None
    data_file: FileCursor = field(default_factory=FileCursor)
    episodes_file: FileCursor = field(default_factory=FileCursor)
    next_video: dict[str, tuple[int, int]] = field(default_factory=dict)
    lock_file: Any = field(default=None, repr=False, compare=False)

    def __deepcopy__(self, memo: dict) -> DatasetMeta:
        copied = DatasetMeta(
            self.root,
            self.repo_id,
            copy.deepcopy(self.info, memo),
            list(self.tasks),
            copy.deepcopy(self.stats, memo),
            copy.copy(self.data_file),
            copy.copy(self.episodes_file),
            dict(self.next_video),
        )
        copied.lock_file = self.lock_file  # the same claim on the folder, not a new one
        return copied

    def release(self) -> None:
        """Give the folder back (the lock file is removed). Idempotent."""
        handle, self.lock_file = self.lock_file, None
        commit.unlock(self.root, handle)

    @property
    def fps(self) -> int:
        return self.info["fps"]

    @property
    def features(self) -> dict[str, dict]:
        return self.info["features"]

    @property
    def total_episodes(self) -> int:
        return self.info["total_episodes"]

    @property
    def total_frames(self) -> int:
        return self.info["total_frames"]

    @property
    def video_keys(self) -> list[str]:
        return [k for k, ft in self.features.items() if ft["dtype"] == "video"]

    @property
    def camera_keys(self) -> list[str]:
        return camera_keys(self.features)

    @classmethod
    def create(
        cls,
        root: Path,
        repo_id: str,
        fps: int,
        robot_type: str | None,
        features: dict,
        use_videos: bool = True,
    ) -> DatasetMeta:
        """Start an empty dataset at `root` (which must not hold anything yet)."""
        if root.exists() and not _unused(root):
            raise ConfigError(
                f"dataset folder {root} already exists and is not empty; "
                "use --resume=true to add episodes to it, or another --dataset.repo_id"
            )
        info = {
            "codebase_version": CODEBASE_VERSION,
            "fps": fps,
            "features": copy.deepcopy(features),
            "total_episodes": 0,
            "total_frames": 0,
            "total_tasks": 0,
            "chunks_size": CHUNKS_SIZE,
            "data_files_size_in_mb": DATA_FILES_SIZE_IN_MB,
            "video_files_size_in_mb": VIDEO_FILES_SIZE_IN_MB,
            "data_path": DATA_PATH,
            "video_path": VIDEO_PATH if use_videos else None,  # as lerobot: by the flag
            "robot_type": robot_type,
            "splits": {},
        }
        meta = cls(root, repo_id, info)
        meta.next_video = {key: (0, 0) for key in meta.video_keys}
        root.mkdir(parents=True, exist_ok=True)
        meta.lock_file = commit.lock(root)
        write_json(root / INFO_PATH, info)
        return meta

    @classmethod
    def open_existing(
        cls, root: Path, repo_id: str, fps: int, robot_type: str | None, features: dict
    ) -> DatasetMeta:
        """Read a dataset back to append to it; ConfigError if it does not match the session."""
        where = f"dataset {repo_id} at {root}"
        info_path = root / INFO_PATH
        if not info_path.exists():
            raise ConfigError(
                f"{where}: no {INFO_PATH} to resume; drop --resume=true to start a new dataset"
            )
        info = _read_info(info_path, where)
        version = info.get("codebase_version")
        if version != CODEBASE_VERSION:
            raise ConfigError(
                f"{where} is LeRobotDataset {version}, only {CODEBASE_VERSION} can be resumed; "
                "convert it with lerobot's convert_dataset_v21_to_v30 or use another repo_id"
            )
        if info["fps"] != fps:
            raise ConfigError(
                f"{where}: fps is {info['fps']} on disk, {fps} requested; "
                f"use --dataset.fps={info['fps']} or another --dataset.repo_id"
            )
        if info.get("robot_type") != robot_type:
            raise ConfigError(
                f"{where}: robot type is {info.get('robot_type')} on disk, {robot_type} "
                "requested; record with the same robot or use another --dataset.repo_id"
            )
        # The outcome features follow the dataset on disk: one recorded without them (by
        # lerobot record) is resumed without them, its outcomes kept in the episodes metadata.
        difference = feature_difference(
            without_outcomes(info["features"]), without_outcomes(features)
        )
        if difference:
            hint = ""
            if "dtype is video on disk, image" in difference:
                hint = "use --dataset.video=true or "
            elif "dtype is image on disk, video" in difference:
                hint = "use --dataset.video=false or "
            raise ConfigError(f"{where}: {difference}; {hint}use another --dataset.repo_id")
        commit.check_journal(root)  # a journal naming paths outside: refused, nothing touched
        cls(root, repo_id, info)._load_state()  # everything parsed before the folder is claimed
        meta_lock = commit.lock(root)
        try:
            commit.recover(root)
            info = _read_info(info_path, where)  # a replayed save may have updated it
            meta = cls(root, repo_id, info)
            meta._load_state()
        except BaseException:
            commit.unlock(root, meta_lock)
            raise
        meta.lock_file = meta_lock
        return meta

    def _load_state(self) -> None:
        """Tasks, stats and the episodes' file cursors from disk; ConfigError naming the file
        for one that cannot be read."""
        try:
            self._read_state()
        except ConfigError:
            raise
        except Exception as error:  # a torn or foreign file: parquet, JSON, a missing column
            raise ConfigError(
                f"dataset {self.repo_id} at {self.root}: its metadata cannot be read "
                f"({type(error).__name__}: {str(error)[:160]}); repair it from a copy or use "
                "another --dataset.repo_id"
            ) from None

    def _read_state(self) -> None:
        tasks_path = self.root / TASKS_PATH
        if tasks_path.exists():
            table = pq.read_table(tasks_path)
            pairs = zip(table["task_index"].to_pylist(), table["task"].to_pylist(), strict=True)
            self.tasks = [task for _, task in sorted(pairs)]
        stats_path = self.root / STATS_PATH
        if stats_path.exists():
            self.stats = from_lists(read_json(stats_path))
            for key, values in self.stats.items():
                for name, array in values.items():
                    if array.dtype.kind not in "biuf":
                        raise ValueError(f"stats.json {key} {name} holds {array.dtype} values")
        last_data, last_meta = (0, -1), (0, -1)
        last_video = {key: (0, -1) for key in self.video_keys}
        for path in sorted((self.root / "meta/episodes").glob("*/*.parquet")):
            table = pq.read_table(path).to_pydict()
            here = (int(path.parent.name.split("-")[-1]), int(path.stem.split("-")[-1]))
            last_meta = max(last_meta, here)  # the columns may be missing in other writers' files
            for i in range(len(table["episode_index"])):
                last_data = max(last_data, _pair(table, "data", i))
                for key in last_video:
                    last_video[key] = max(last_video[key], _pair(table, f"videos/{key}", i))
        # New episodes go to new files, as lerobot's resume does.
        self.data_file = FileCursor(*next_file(*last_data)) if last_data[1] >= 0 else FileCursor()
        self.episodes_file = (
            FileCursor(*next_file(*last_meta)) if last_meta[1] >= 0 else FileCursor()
        )
        self.next_video = {
            key: next_file(*last) if last[1] >= 0 else (0, 0) for key, last in last_video.items()
        }


def _unused(root: Path) -> bool:
    """Nothing in the folder but, at most, the info.json of a dataset that never got an episode
    (a session stopped before its first save): a new dataset may start there."""
    others = [p for p in root.iterdir() if p.name not in (SCRATCH_DIR, "meta")]
    meta = root / "meta"
    if others or not meta.exists():
        return not others
    if [p.name for p in meta.iterdir()] != ["info.json"]:
        return False
    try:
        return read_json(root / INFO_PATH).get("total_episodes") == 0
    except (OSError, ValueError, AttributeError, RecursionError):
        return False


def forget_if_empty(meta: DatasetMeta) -> None:
    """After a session that saved nothing into a dataset it started: remove its info.json and
    the folders left empty, so no half-dataset stays behind."""
    if meta.total_episodes != 0:
        return
    (meta.root / INFO_PATH).unlink(missing_ok=True)
    for folder in (meta.root / "meta", meta.root):
        try:
            folder.rmdir()
        except OSError:  # something else is in it: leave it
            return


def _read_info(path: Path, where: str) -> dict[str, Any]:
    """info.json read and checked for the fields a resume relies on (ConfigError otherwise)."""
    try:
        info = read_json(path)
    except (OSError, ValueError, RecursionError) as error:
        raise ConfigError(
            f"{where}: {INFO_PATH} cannot be read ({type(error).__name__}); repair it from a "
            "copy or use another --dataset.repo_id"
        ) from None
    if isinstance(info, dict) and isinstance(info.get("features"), dict):
        if not all(isinstance(ft, dict) for ft in info["features"].values()):
            info["features"] = None  # refused below
    wanted = {"fps": int, "features": dict, "total_episodes": int, "total_frames": int}
    for key, kind in wanted.items():
        if not isinstance(info, dict) or not isinstance(info.get(key), kind):
            raise ConfigError(
                f"{where}: {INFO_PATH} has no valid {key!r}; repair it from a copy or use "
                "another --dataset.repo_id"
            )
    return info


def _pair(table: dict, prefix: str, i: int) -> tuple[int, int]:
    return (table[f"{prefix}/chunk_index"][i], table[f"{prefix}/file_index"][i])
