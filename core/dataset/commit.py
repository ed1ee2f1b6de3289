"""Publishing a saved episode into the dataset as one step that a crash cannot split.

Every file an episode changes (its videos, the grown data and episodes-metadata parquet files,
tasks, stats, info.json) is first written completely under `<root>/.lerecord/staging/`. Then a
journal listing the moves is written atomically, the files are moved into place with `os.replace`
(videos first, info.json last), and the journal is deleted. If the process dies before the journal
exists, the dataset is untouched and the staged files are thrown away on the next open; if it dies
after, the next open (`recover`) finishes the moves. The moves take microseconds; between them a
reader sees complete files, at worst one episode's data rows before its metadata row.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import IO

from core.dataset.layout import SCRATCH_DIR, fsync_file, write_bytes
from hardware.errors import ConfigError

logger = logging.getLogger(__name__)

JOURNAL = "commit.json"
LOCK = "lock"


def scratch(root: Path) -> Path:
    return root / SCRATCH_DIR


def staging(root: Path) -> Path:
    return scratch(root) / "staging"


def lock(root: Path) -> IO | None:
    """Claim the dataset for this process (released when the file closes or the process dies).

    ConfigError if another process holds it: two writers, or an upload while recording, would
    each take the other's staged files for leftovers of a crash."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return None
    scratch(root).mkdir(parents=True, exist_ok=True)
    handle = open(scratch(root) / LOCK, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        raise ConfigError(
            f"dataset at {root} is in use by lerecord ({owner}); wait for it to finish "
            "or use another --dataset.root"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle


def publish(root: Path, moves: list[tuple[Path, Path | None]]) -> None:
    """Move staged files to their places in the dataset, crash-safely (see module doc).

    A move to None deletes its source (used to undo a publish)."""
    for src, dst in moves:
        if dst is not None:
            fsync_file(src)
    entries = [
        [str(src.relative_to(root)), None if dst is None else str(dst.relative_to(root))]
        for src, dst in moves
    ]
    journal = scratch(root) / JOURNAL
    write_bytes(journal, json.dumps(entries).encode())
    _apply(root, entries)
    journal.unlink()


def keep_for_undo(root: Path, moves: list[tuple[Path, Path]]) -> list[tuple[Path, Path | None]]:
    """Before publishing `moves`, keep the files they replace (hard links, else copies) and
    return the moves that put the dataset back as it was (files the publish adds are deleted)."""
    folder = scratch(root) / "undo"
    shutil.rmtree(folder, ignore_errors=True)
    undo: list[tuple[Path, Path | None]] = []
    for _, dst in moves:
        if not dst.exists():
            undo.append((dst, None))
            continue
        kept = folder / dst.relative_to(root)
        kept.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(dst, kept)
        except OSError:  # a file system without hard links
            shutil.copy2(dst, kept)
        undo.append((kept, dst))
    return list(reversed(undo))


def recover(root: Path) -> bool:
    """Finish an interrupted publish and drop staged leftovers. True if moves were replayed."""
    journal = scratch(root) / JOURNAL
    replayed = False
    if journal.exists():
        try:
            entries = json.loads(journal.read_text())
        except ValueError:
            entries = None  # torn journal: written before any move happened
        if entries is not None:
            logger.warning("dataset %s: finishing an interrupted save", root)
            _apply(root, entries)
            replayed = True
        journal.unlink()
    shutil.rmtree(staging(root), ignore_errors=True)
    return replayed


def _apply(root: Path, entries: list[list[str]]) -> None:
    for src_rel, dst_rel in entries:
        src = root / src_rel
        if dst_rel is None:
            src.unlink(missing_ok=True)
            continue
        dst = root / dst_rel
        if src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # not supported for directories on every platform
        pass
    finally:
        os.close(fd)
