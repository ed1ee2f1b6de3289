"""The inference-log writer: three CSV files, one row each per control step, written off-loop.

`record(step)` is what the control thread calls: an append to a bounded deque, no lock, no I/O
(a full queue drops the step and counts it rather than wait). A background thread turns queued
steps into CSV text and writes it with one `os.write` per batch of whole lines, so a reader
(`pandas.read_csv` while the session runs) sees whole rows, but for the last line when it catches
a write in progress (a file grows a page at a time): read up to the last newline to have only
finished rows (docs/FORMATS.md). Batches go out at least once a
second, at once on an `episode_end` / `stop` step, and on `flush()` / `close()`.

A write error (unwritable folder, full disk) is reported once through `on_warning`, stops the
logging, and never raises into the caller; the recording goes on without logs.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from core.logs.columns import LogLayout
from core.step import ControlStep

log = logging.getLogger(__name__)

FILES = ("robot_state", "policy_inference", "trajectory")
_URGENT = ("episode_end", "stop")


class InferenceLog:
    """Per-step CSV logs of one session under `<base>/<dataset_name>/<YYYYmmdd_HHMMSS>/`."""

    def __init__(
        self,
        folder: Path | None,
        robot_type: str,
        layout: LogLayout,
        on_warning: Callable[[str], None] | None = None,
        max_queue: int = 10_000,
        flush_interval_s: float = 1.0,
    ):
        self.folder = folder
        self.robot_type = robot_type
        self.layout = layout
        self.dropped = 0  # steps the full queue refused
        self.rows_written = 0  # steps written (to all files)
        self._on_warning = on_warning
        self._max_queue = max_queue
        self._interval = flush_interval_s
        self._queue: deque[ControlStep] = deque()
        self._fds: dict[str, int] = {}
        self._wake = threading.Event()
        self._written = threading.Condition()
        self._taken = 0  # steps taken off the queue and handled (written or abandoned)
        self._enqueued = 0
        self._stopping = False
        self._failed = False
        self._warned = False
        self._thread: threading.Thread | None = None

    @classmethod
    def open(
        cls,
        base_dir: str | Path = "inference_logs",
        *,
        repo_id: str,
        robot_type: str,
        motors: Iterable[str],
        state_names: Iterable[str] = (),
        action_names: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
        on_warning: Callable[[str], None] | None = None,
        max_queue: int = 10_000,
        flush_interval_s: float = 1.0,
    ) -> InferenceLog:
        """Create the session's folder and the three files with their header rows.

        Never raises for the file system: when the folder or a file cannot be created, the
        warning goes to `on_warning` (or the log) and the returned object records nothing.
        """
        layout = LogLayout(tuple(motors), tuple(state_names), tuple(action_names))
        dataset_name = repo_id.rsplit("/", 1)[-1]
        stamp = datetime.fromtimestamp(clock()).strftime("%Y%m%d_%H%M%S")
        self = cls(None, robot_type, layout, on_warning, max_queue, flush_interval_s)
        try:
            self.folder = _new_folder(Path(base_dir) / dataset_name, stamp)
            headers = {
                "robot_state": layout.robot_state_columns(),
                "policy_inference": layout.policy_columns(),
                "trajectory": layout.trajectory_columns(),
            }
            for name in FILES:
                path = self.folder / f"{robot_type}_{name}.csv"
                self._fds[name] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                _write_all(self._fds[name], _csv([headers[name]]))
        except OSError as error:
            self._close_files()
            self._fail(f"inference logs off: cannot create them in {base_dir}: {_reason(error)}")
            return self
        self._thread = threading.Thread(target=self._run, name="inference-log", daemon=True)
        self._thread.start()
        return self

    @property
    def active(self) -> bool:
        """True while steps are being logged (False after a write error or close)."""
        return not self._failed and not self._stopping

    def path(self, name: str) -> Path | None:
        """The file for "robot_state", "policy_inference" or "trajectory"."""
        return self.folder / f"{self.robot_type}_{name}.csv" if self.folder else None

    def record(self, step: ControlStep) -> None:
        """Queue one control step; O(1), never blocks, never does I/O, never raises."""
        if self._failed or self._stopping:
            return
        if len(self._queue) >= self._max_queue:
            self.dropped += 1
            return
        self._queue.append(step)
        self._enqueued += 1
        if step.event in _URGENT:
            self._wake.set()

    def flush(self, wait: bool = False, timeout: float = 5.0) -> bool:
        """Write what is queued now; with `wait`, return once it is on disk (True) or timed out.

        The control thread calls it without `wait` (it only wakes the writer).
        """
        target = self._enqueued
        self._wake.set()
        if not wait or self._thread is None:
            return True
        with self._written:
            done = self._written.wait_for(
                lambda: self._taken >= target or self._failed, timeout=timeout
            )
        return done and not self._failed

    def close(self, timeout: float = 5.0) -> None:
        """Write everything queued, then close the files. Idempotent."""
        if self._stopping:
            return
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)  # the writer closes the files when it has written all
        else:
            self._close_files()
        if self.dropped:
            self._warn(f"inference logs: {self.dropped} steps dropped (the writer fell behind)")

    # ---- writer thread -------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                self._wake.wait(self._interval)
                self._wake.clear()
                stopping = self._stopping
                self._write_queued()
                if stopping or self._failed:
                    break
        finally:
            self._close_files()

    def _close_files(self) -> None:
        for fd in self._fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds.clear()

    def _write_queued(self) -> None:
        steps = []
        while self._queue:
            steps.append(self._queue.popleft())
        if steps and not self._failed:
            layout = self.layout
            try:
                _write_all(self._fds["robot_state"], _csv(map(layout.robot_state_row, steps)))
                policy = [layout.policy_row(s) for s in steps if s.policy is not None]
                if policy:
                    _write_all(self._fds["policy_inference"], _csv(policy))
                _write_all(self._fds["trajectory"], _csv(map(layout.trajectory_row, steps)))
                self.rows_written += len(steps)
            except OSError as error:
                self._fail(f"inference logs stopped: cannot write to {self.folder}: "
                           f"{_reason(error)}; the recording goes on")  # fmt: skip
            except Exception as error:  # a malformed step must not kill the writer silently
                self._fail(f"inference logs stopped: {type(error).__name__}: {error}")
        with self._written:
            self._taken += len(steps)
            self._written.notify_all()

    def _fail(self, message: str) -> None:
        self._failed = True
        self._queue.clear()
        if not self._warned:
            self._warned = True
            self._warn(message)

    def _warn(self, message: str) -> None:
        if self._on_warning is None:
            log.warning(message)
            return
        try:
            self._on_warning(message)
        except Exception:  # the callback's own failure must not stop the writer or the loop
            log.exception("inference log warning callback failed")


def _new_folder(parent: Path, stamp: str) -> Path:
    """`parent/stamp`, or `stamp_1`, `stamp_2` … when a session already used that second."""
    parent.mkdir(parents=True, exist_ok=True)
    for n in range(1000):
        folder = parent / (stamp if n == 0 else f"{stamp}_{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(f"{parent / stamp}_* all taken")


def _csv(rows: Iterable[list]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _reason(error: OSError) -> str:
    return error.strerror or str(error)
