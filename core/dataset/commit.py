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
    """Claim the dataset for this process (released by `unlock`, or when the process dies).

    ConfigError if another process holds it: two writers, or an upload while recording, would
    each take the other's staged files for leftovers of a crash."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return None
    scratch(root).mkdir(parents=True, exist_ok=True)
    path = scratch(root) / LOCK
    while True:
        handle = open(path, "a+")
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
        if _same_file(handle, path):
            break
        handle.close()  # its owner removed the file meanwhile: claim the one there now
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle


def unlock(root: Path, handle: IO | None) -> None:
    """Give the dataset back: the lock file goes (lerobot's own upload would send it), and the
    scratch folder with it when nothing else is left in it."""
    if handle is None:
        return
    try:
        if _same_file(handle, scratch(root) / LOCK):
            (scratch(root) / LOCK).unlink()
    finally:
        handle.close()
    try:
        scratch(root).rmdir()
    except OSError:  # not empty (a journal to replay), or already gone
        pass


def _same_file(handle: IO, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
    except OSError:
        return False


def check_journal(root: Path) -> list[list[str]] | None:
    """The moves an interrupted publish left to finish, each checked to stay inside `root`;
    None when there is none (or it was torn before any move). ConfigError, with nothing
    touched, for a journal that names anything else."""
    journal = scratch(root) / JOURNAL
    if not journal.exists():
        return None
    try:
        entries = json.loads(journal.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None  # torn journal: written before any move happened
    inside = root.resolve()
    where = f"dataset at {root}: its crash journal {SCRATCH_DIR}/{JOURNAL}"
    if not isinstance(entries, list):
        raise ConfigError(f"{where} is not a list of moves; {JOURNAL_FIX}")
    for entry in entries:
        if not (
            isinstance(entry, list)
            and len(entry) == 2
            and isinstance(entry[0], str)
            and (entry[1] is None or isinstance(entry[1], str))
        ):
            raise ConfigError(f"{where} has a malformed move {entry!r:.80}; {JOURNAL_FIX}")
        for rel in entry:
            if rel is not None and not _inside(root, rel, inside):
                raise ConfigError(
                    f"{where} names {rel!r:.80}, which is outside the dataset; {JOURNAL_FIX}"
                )
    return entries


JOURNAL_FIX = (
    f"nothing was changed: delete {SCRATCH_DIR}/{JOURNAL} if you trust this folder, then resume"
)


def _inside(root: Path, rel: str, resolved_root: Path) -> bool:
    if not rel or "\x00" in rel or Path(rel).is_absolute():
        return False
    target = (root / rel).resolve()
    return target != resolved_root and target.is_relative_to(resolved_root)


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
    """Finish an interrupted publish and drop staged leftovers. True if moves were replayed.
    ConfigError (nothing touched) if the journal names a path outside the dataset."""
    journal = scratch(root) / JOURNAL
    entries = check_journal(root)
    if entries is not None:
        logger.warning("dataset %s: finishing an interrupted save", root)
        _apply(root, entries)
    journal.unlink(missing_ok=True)
    shutil.rmtree(staging(root), ignore_errors=True)
    return entries is not None


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
