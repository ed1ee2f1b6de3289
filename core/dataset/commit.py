"""Publishing a saved episode into the dataset as one step that a crash cannot split.

Every file an episode changes (its videos, the grown data and episodes-metadata parquet files,
tasks, stats, info.json) is first written completely under `<root>/.lerecord/staging/`. Then a
journal listing the moves is written atomically, the files are moved into place with `os.replace`
(videos first, info.json last), and the journal is deleted. If the process dies before the journal
exists, the dataset is untouched and the staged files are thrown away on the next open; if it dies
after, the next open (`recover`) finishes the moves. The moves take microseconds; between them a
reader sees complete files, at worst one episode's data rows before its metadata row.

The files a publish replaces are kept as hard links under `.lerecord/undo/`, so the last publish
can be taken back (`undo_last`, re-record pressed after the episode was saved) the same way.
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


def undo_dir(root: Path) -> Path:
    return scratch(root) / "undo"


def publish(root: Path, moves: list[tuple[Path, Path]]) -> None:
    """Move staged files to their places in the dataset, crash-safely (see module doc).

    The files it replaces are kept (hard links) under `.lerecord/undo/` with the steps that put
    them back, so that `undo_last` can take this publish back out (re-record after a save)."""
    for src, _ in moves:
        fsync_file(src)
    _keep_for_undo(root, [dst for _, dst in moves])
    entries = [[str(src.relative_to(root)), str(dst.relative_to(root))] for src, dst in moves]
    _journaled(root, entries)


def undo_last(root: Path) -> bool:
    """Put back the files the last `publish` replaced and delete those it created, in reverse
    order, through the same journal. False if there is nothing to undo."""
    plan = undo_dir(root) / "plan.json"
    if not plan.exists():
        return False
    entries = json.loads(plan.read_text())
    _journaled(root, entries)
    shutil.rmtree(undo_dir(root), ignore_errors=True)
    return True


def forget_undo(root: Path) -> None:
    shutil.rmtree(undo_dir(root), ignore_errors=True)


def _keep_for_undo(root: Path, targets: list[Path]) -> None:
    forget_undo(root)
    keep = undo_dir(root)
    entries = []
    for i, dst in enumerate(targets):
        rel = str(dst.relative_to(root))
        if dst.exists():
            kept = keep / f"{i:03d}-{dst.name}"
            kept.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(dst, kept)
            except OSError:  # no hard links on this file system
                shutil.copy2(dst, kept)
            entries.append([str(kept.relative_to(root)), rel])
        else:
            entries.append([rel, None])  # created by the publish: delete it
    write_bytes(keep / "plan.json", json.dumps(entries[::-1]).encode())


def _journaled(root: Path, entries: list[list[str | None]]) -> None:
    journal = scratch(root) / JOURNAL
    write_bytes(journal, json.dumps(entries).encode())
    _apply(root, entries)
    journal.unlink()


def recover(root: Path) -> bool:
    """Finish an interrupted publish and drop staged leftovers. True if moves were replayed."""
    replayed = replay_journal(root)
    shutil.rmtree(staging(root), ignore_errors=True)
    forget_undo(root)
    return replayed


def replay_journal(root: Path) -> bool:
    """Complete the moves of an interrupted publish or undo, if any. True if there were some."""
    journal = scratch(root) / JOURNAL
    if not journal.exists():
        return False
    try:
        entries = json.loads(journal.read_text())
    except ValueError:
        entries = None  # torn journal: written before any move happened
    if entries is not None:
        logger.warning("dataset %s: finishing an interrupted save", root)
        _apply(root, entries)
    journal.unlink()
    return entries is not None


def _apply(root: Path, entries: list[list[str | None]]) -> None:
    """Each entry moves `src` onto `dst`, or deletes `src` when `dst` is None. Idempotent."""
    for src_rel, dst_rel in entries:
        src = root / src_rel
        if dst_rel is None:
            src.unlink(missing_ok=True)
        elif src.exists():
            dst = root / dst_rel
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
