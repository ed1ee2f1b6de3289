"""Where a LeRobotDataset v3.0 keeps its files, and the small file helpers every writer uses.

Paths and constants are lerobot 0.6.1's (`../shared/reference/lerobot-0.6.1.md` §2). Every file
is written under a temporary name beside its target and moved into place with `os.replace`, so a
reader (or a crash) sees either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000
DATA_FILES_SIZE_IN_MB = 100
VIDEO_FILES_SIZE_IN_MB = 200
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"
SCRATCH_DIR = ".lerecord"  # staging and the commit journal; never uploaded, ignored by lerobot


def lerobot_home() -> Path:
    """`$HF_LEROBOT_HOME`, else `$HF_HOME/lerobot`, else `~/.cache/huggingface/lerobot`."""
    if os.environ.get("HF_LEROBOT_HOME"):
        return Path(os.environ["HF_LEROBOT_HOME"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME", "~/.cache")
    hf_home = os.environ.get("HF_HOME", os.path.join(cache, "huggingface"))
    return Path(hf_home).expanduser() / "lerobot"


def default_root(repo_id: str) -> Path:
    """The folder lerobot uses for `repo_id` when `--dataset.root` is not given."""
    return lerobot_home() / repo_id


def next_file(chunk_index: int, file_index: int) -> tuple[int, int]:
    """The file after (chunk, file): `chunks_size` files per chunk folder, as lerobot counts."""
    file_index += 1
    if file_index >= CHUNKS_SIZE:
        return chunk_index + 1, 0
    return chunk_index, file_index


def write_json(path: Path, data: Any) -> None:
    """Write JSON as lerobot does (indent 4), atomically."""
    write_bytes(path, json.dumps(data, indent=4, ensure_ascii=False).encode())


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())
