"""The engine's handle on the dataset: `add_frame` from the control thread, saves in background.

    recorder = DatasetRecorder.create(root, repo_id, fps, robot_type, features)
    recorder.start_episode()
    recorder.add_frame(state, action, {"front": image}, task)   # each control step
    handle = recorder.save_episode()      # returns at once; the saver thread finishes it
    recorder.mark_outcome(index, "success")  # relabel a saved episode, also on the saver thread
    recorder.discard_episode()            # re-record: frames thrown away, encoders reset
    recorder.close()                      # waits for pending saves; idempotent

`add_frame` never blocks and does no I/O: it keeps the state/action rows in lists and offers
each camera image to that camera's worker (see `camera_worker`). `save_episode` hands the rows
to the saver thread; the saver waits for the workers to close the videos, then writes and
publishes the episode (see `episode_files`, `commit`). Each finished save is reported as an
`EpisodeWritten` on `events()` and to the optional `on_written` callback (called on the saver
thread; it must not block).
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.dataset import commit
from core.dataset.camera_worker import CameraWorker, StepTurns, TakeResult
from core.dataset.episode_files import EpisodeFrames, stage_episode, warm_up
from core.dataset.features import IMAGES_PREFIX, is_depth
from core.dataset.layout import default_root
from core.dataset.meta import DatasetMeta, forget_if_empty
from core.dataset.video_encoder import DepthSettings, VideoSettings
from core.queues import drain
from hardware.errors import ConfigError

logger = logging.getLogger(__name__)

CLOSE_DEADLINE_S = 120.0  # the pending saves' share of a session's end
WORKER_STOP_S = 5.0
PREPARE_WAIT_S = 10.0  # the first take's encoders opening, before the session's first step


@dataclass(frozen=True)
class EpisodeWritten:
    """A save finished: the episode is on disk (error None) or was not written (error says why)."""

    episode_index: int
    frames: int
    save_s: float  # from save_episode() to the episode being published
    error: str | None = None
    repeated_frames: int = 0  # video frames repeated to cover frames dropped during the episode
    warning: str | None = None  # saved, but the disk will not hold the next episode, say
    outcome: str | None = None  # as saved ("success" | "failure" | None: not marked)


@dataclass
class SaveHandle:
    """A pending save; `wait()` blocks until it is done (never call it from the control loop)."""

    expected_index: int
    frames: int
    _done: threading.Event = field(default_factory=threading.Event)
    result: EpisodeWritten | None = None

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> EpisodeWritten | None:
        self._done.wait(timeout)
        return self.result


@dataclass(frozen=True)
class OutcomeWritten:
    """A relabel finished: the episode's outcome is on disk (error None) or unchanged."""

    episode_index: int
    outcome: str | None
    error: str | None = None


@dataclass(frozen=True)
class EpisodeRemoved:
    """The episode saved last was taken back out (re-record during its reset)."""

    episode_index: int


Written = EpisodeWritten | OutcomeWritten | EpisodeRemoved
_UNDO_LAST = object()  # saver job: take the episode published last back out


@dataclass(frozen=True)
class _OutcomeJob:
    episode_index: int
    outcome: str | None


@dataclass
class _SaveJob:
    take: int
    frames: EpisodeFrames
    finishes: dict
    handle: SaveHandle
    requested_at: float


def disk_free(root: Path) -> int:
    """Bytes free on the filesystem holding `root`."""
    return shutil.disk_usage(root).free


class DatasetRecorder:
    """Writes a LeRobotDataset v3.0 from the control loop's frames (module doc)."""

    def __init__(
        self,
        meta: DatasetMeta,
        video: VideoSettings | None,
        queue_size: int,
        on_written: Callable[[Written], None] | None,
        encoder_threads: int | None = None,
        depth: DepthSettings | None = None,
    ):
        self.meta = meta  # as published on disk; replaced by the saver after each save
        self.root = meta.root
        self.repo_id = meta.repo_id
        self.fps = meta.fps
        self.video = video
        self.depth = depth or DepthSettings()  # `--dataset.depth_encoder.*`, for depth cameras
        self._on_written = on_written
        self.started_here = False  # a new dataset: nothing of it is left if nothing is saved
        self.episode_bytes = 0  # what the last episode took on disk while being saved
        self.free_bytes: Callable[[Path], int] = disk_free  # the disk-space probe (a quota's)
        self._events: queue.SimpleQueue[Written] = queue.SimpleQueue()
        warm_up()
        self._staging = commit.staging(self.root)
        shutil.rmtree(self._staging, ignore_errors=True)
        self._state_dim = _dim(meta.features, "observation.state")
        self._action_dim = _dim(meta.features, "action")
        self._workers: dict[str, CameraWorker] = {}
        self._turns = StepTurns()  # the codecs' opens and frees, one right after each step
        for key in meta.camera_keys:
            shape = tuple(meta.features[key]["shape"])
            depth_settings = self.depth if is_depth(meta.features[key]) else None
            self._workers[key.removeprefix(IMAGES_PREFIX)] = CameraWorker(
                key,
                shape,
                self.fps,
                self._staging,
                video,
                queue_size,
                encoder_threads,
                depth_settings,
                self._turns,
            )
        self._take = 0
        self._next_videos = False  # a take ended: the next one's videos to be opened ahead
        opened = [worker.prepare(1) for worker in self._workers.values()]
        deadline = time.monotonic() + PREPARE_WAIT_S
        for event in opened:  # open now, while no control step can be stalled by it
            event.wait(max(0.0, deadline - time.monotonic()))
        self._recording = False
        self._states: list[np.ndarray] = []
        self._actions: list[np.ndarray] = []
        self._tasks: list[str] = []
        self._extras: dict[str, list] = {}  # per-frame features beyond state/action (intervention)
        self._handed = 0  # saves handed to the saver (written by the control thread only)
        self._finished = 0  # saves the saver finished (written by the saver only)
        self._saved = 0
        self._last_publish: tuple[DatasetMeta, list] | None = None
        self._removal_requested = 0
        # the index the next save gets, kept by the control thread itself: the saver publishes
        # saves and takes removals out later, so the published count can lag both
        self._next_index = meta.total_episodes
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._saver = threading.Thread(target=self._save_loop, name="dataset-saver", daemon=True)
        self._saver.start()

    # ---- opening -------------------------------------------------------------------------------

    @classmethod
    def create(cls, root, repo_id, fps, robot_type, features, **options) -> DatasetRecorder:
        """A new dataset at `root` (default `~/.cache/huggingface/lerobot/<repo_id>`)."""
        return cls._open(False, root, repo_id, fps, robot_type, features, **options)

    @classmethod
    def resume(cls, root, repo_id, fps, robot_type, features, **options) -> DatasetRecorder:
        """Append to the dataset at `root`; ConfigError (nothing touched) if it does not match."""
        return cls._open(True, root, repo_id, fps, robot_type, features, **options)

    @classmethod
    def _open(
        cls,
        resume: bool,
        root: Path | str | None,
        repo_id: str,
        fps: int,
        robot_type: str | None,
        features: dict,
        video: bool = True,
        vcodec: str = "libsvtav1",
        encoder: VideoSettings | None = None,
        encoder_threads: int | None = None,
        queue_size: int = 30,
        on_written: Callable[[Written], None] | None = None,
        depth_encoder: DepthSettings | None = None,
    ) -> DatasetRecorder:
        """`encoder` (`--dataset.rgb_encoder.*`) wins over `vcodec`, its codec alone;
        `depth_encoder` (`--dataset.depth_encoder.*`) encodes the depth cameras."""
        root = Path(root) if root else default_root(repo_id)
        settings = _settings(features, video, encoder or VideoSettings(vcodec=vcodec))
        if encoder_threads:
            encoder_threads = max(1, min(encoder_threads, os.cpu_count() or 1))
        if resume:
            meta = DatasetMeta.open_existing(root, repo_id, fps, robot_type, features)
        else:
            meta = DatasetMeta.create(root, repo_id, fps, robot_type, features, use_videos=video)
        recorder = cls(meta, settings, queue_size, on_written, encoder_threads, depth_encoder)
        recorder.started_here = not resume
        return recorder

    # ---- control thread ------------------------------------------------------------------------

    @property
    def frame_count(self) -> int:
        """Frames in the episode being recorded."""
        return len(self._tasks)

    @property
    def dropped_frames(self) -> int:
        """Camera frames dropped because an encoder queue was full (over the session)."""
        return sum(w.dropped for w in self._workers.values())

    @property
    def encoder_backlog(self) -> int:
        """Camera frames waiting to be encoded, all cameras together."""
        return sum(w.backlog for w in self._workers.values())

    @property
    def episodes_saved(self) -> int:
        return self._saved

    def start_episode(self) -> None:
        """Begin a new take; frames added before the previous one was saved are discarded."""
        if self._recording and self._tasks:
            self.discard_episode()
        self._take += 1
        self._recording = True
        self._states, self._actions, self._tasks, self._extras = [], [], [], {}

    def add_frame(
        self,
        state: np.ndarray,
        action: np.ndarray,
        images: dict[str, np.ndarray],
        task: str,
        extra: dict[str, object] | None = None,
    ) -> None:
        """Record one control step. Never blocks; images are handed over, not copied.
        `extra`: this frame's value of each further feature (dagger's `intervention`)."""
        if not self._recording:
            self.start_episode()
        index = len(self._tasks)
        state = np.array(state, dtype=np.float32)
        action = np.array(action, dtype=np.float32)
        if state.shape != (self._state_dim,) or action.shape != (self._action_dim,):
            raise ValueError(
                f"state {state.shape} / action {action.shape}, dataset expects "
                f"({self._state_dim},) / ({self._action_dim},)"
            )
        self._states.append(state)
        self._actions.append(action)
        self._tasks.append(task)
        for key, value in (extra or {}).items():
            self._extras.setdefault(key, []).append(value)
        for name, worker in self._workers.items():
            image = images.get(name)
            if image is None:
                worker.dropped += 1  # no frame from this camera: the previous one is repeated
            else:
                worker.offer(self._take, index, image)

    def between_steps(self) -> None:
        """Called by the control thread right after each step: one camera worker may now open
        or free a codec (each holds the GIL 10-20 ms), in the time the control thread sleeps.
        After a take ended, the first step (the session goes on) asks for the next videos."""
        if self._next_videos and not self._recording:
            self._next_videos = False
            for worker in self._workers.values():  # opened behind the end of the take
                worker.prepare(self._take + 1)
        self._turns.give()

    def _prepare_next(self) -> None:
        self._next_videos = True

    def discard_episode(self) -> int:
        """Throw away the episode in progress (re-record). Returns how many frames it had."""
        frames = len(self._tasks)
        for worker in self._workers.values():
            worker.abort(self._take)
        self._prepare_next()
        self._states, self._actions, self._tasks, self._extras = [], [], [], {}
        self._recording = False
        return frames

    def save_episode(self, outcome: str | None = None) -> SaveHandle:
        """Hand the episode in progress to the saver thread and return at once; it is published
        as soon as it is written (`remove_last_episode` takes it out again if need be)."""
        frames = EpisodeFrames(self._states, self._actions, self._tasks, self._extras, outcome)
        handle = SaveHandle(self._next_index, frames.length)
        if frames.length == 0:
            for worker in self._workers.values():
                worker.abort(self._take)
            self._prepare_next()
            self._recording = False
            self._finish(handle, EpisodeWritten(-1, 0, 0.0, "the episode has no frames"))
            return handle
        finishes = {name: w.finish(self._take, frames.length) for name, w in self._workers.items()}
        self._prepare_next()
        self._handed += 1
        self._next_index += 1
        self._jobs.put(_SaveJob(self._take, frames, finishes, handle, time.perf_counter()))
        self._states, self._actions, self._tasks, self._extras = [], [], [], {}
        self._recording = False
        return handle

    def mark_outcome(self, episode_index: int, outcome: str | None) -> None:
        """Relabel a saved episode (None: not marked), queued behind the saves handed over so
        far; reported as an `OutcomeWritten`."""
        self._jobs.put(_OutcomeJob(episode_index, outcome))

    def events(self) -> list[Written]:
        """Saves finished since the last call."""
        return drain(self._events)

    def remove_last_episode(self) -> bool:
        """Take the episode saved last back out of the dataset (re-record pressed during its
        reset). Queued behind its save; False when this session has saved nothing to take out."""
        if self._handed == 0 or self._removal_requested == self._handed:
            return False
        self._removal_requested = self._handed
        self._next_index -= 1
        self._jobs.put(_UNDO_LAST)
        return True

    # ---- any thread but the control one -------------------------------------------------------

    def wait_saves(self, timeout: float | None = None) -> bool:
        """Block until every save handed over so far is done (held ones once decided).
        False on timeout."""
        marker = threading.Event()
        self._jobs.put(marker)
        return marker.wait(timeout)

    def close(self, timeout: float = CLOSE_DEADLINE_S) -> None:
        """Finish pending saves (for at most `timeout` s), drop the episode in progress, stop the
        threads. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._turns.stop()  # no more steps: the workers no longer wait for one
        if self._tasks:
            self.discard_episode()
        self._jobs.put(None)
        self._saver.join(timeout)
        if self._saver.is_alive():
            logger.error(
                "dataset %s: a save did not finish within %g s; the episodes saved before it "
                "are kept",
                self.repo_id,
                timeout,
            )
        for worker in self._workers.values():
            worker.stop(WORKER_STOP_S)
        shutil.rmtree(self._staging, ignore_errors=True)
        shutil.rmtree(commit.scratch(self.root) / "undo", ignore_errors=True)
        self.meta.release()
        if self.started_here and not self._saver.is_alive():
            forget_if_empty(self.meta)

    # ---- saver thread --------------------------------------------------------------------------

    def _save_loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if isinstance(job, threading.Event):
                job.set()
                continue
            if job is _UNDO_LAST:
                self._undo_last()
                continue
            if isinstance(job, _OutcomeJob):
                self._report(self._relabel(job))
                continue
            self._save(job)

    def _save(self, job: _SaveJob) -> None:
        results: dict[str, TakeResult] = {}
        error = None
        for name, request in job.finishes.items():
            result = self._workers[name].wait_finished(request)
            if result.error:
                error = error or result.error
            results[IMAGES_PREFIX + name] = result
        staged = self._staging / f"save-{job.take:06d}"
        take = self._staging / f"take-{job.take:06d}"
        index = self.meta.total_episodes
        warning = None
        try:
            if error:
                raise RuntimeError(error)
            moves, new_meta = stage_episode(
                self.meta, job.frames, results, self.video, staged, self.depth
            )
            self.episode_bytes = _bytes_under(staged) + _bytes_under(take)
            undo = commit.keep_for_undo(self.root, moves)
            commit.publish(self.root, moves)
            self._last_publish = (self.meta, undo)
            self.meta = new_meta
            self._saved += 1
            warning = "; ".join(filter(None, [self._still_warning(job), self._space_warning()]))
            warning = warning or None
        except Exception as exc:
            logger.exception("dataset %s: episode not saved", self.repo_id)
            if not self.episode_bytes:  # the first save: what it had written so far
                self.episode_bytes = _bytes_under(staged) + _bytes_under(take)
            error = f"episode not saved: {exc}{self._space_note()}"
            index = -1
            self._last_publish = None  # a re-record now must not take out the one before
        finally:
            shutil.rmtree(staged, ignore_errors=True)
            shutil.rmtree(take, ignore_errors=True)
            self._finished += 1
        repeated = max((r.repeated for r in results.values()), default=0)
        written = EpisodeWritten(
            index,
            job.frames.length,
            time.perf_counter() - job.requested_at,
            error,
            repeated,
            warning,
            job.frames.outcome,
        )
        self._finish(job.handle, written)

    def _relabel(self, job: _OutcomeJob) -> OutcomeWritten:
        from core.dataset.outcomes import stage_outcome

        staged = self._staging / f"outcome-{job.episode_index:06d}"
        try:
            moves, new_meta = stage_outcome(self.meta, job.episode_index, job.outcome, staged)
            commit.publish(self.root, moves)
        except ConfigError as exc:  # no such episode
            return OutcomeWritten(job.episode_index, job.outcome, str(exc))
        except Exception as exc:
            logger.exception("dataset %s: outcome not written", self.repo_id)
            return OutcomeWritten(job.episode_index, job.outcome, f"outcome not written: {exc}")
        finally:
            shutil.rmtree(staged, ignore_errors=True)
        self.meta = new_meta
        if job.episode_index != self.meta.total_episodes - 1:
            self._last_publish = None  # taking the last episode out would undo this relabel
        return OutcomeWritten(job.episode_index, job.outcome)

    def _free_bytes(self) -> int | None:
        try:
            return self.free_bytes(self.root)
        except OSError:
            return None

    def _still_warning(self, job: _SaveJob) -> str | None:
        """A camera that gave one picture for a while (a short outage) made that many identical
        frames in the video: said, not left silent."""
        limit = max(3, self.fps // 5)
        still = {n: r.still_frames for n, r in job.finishes.items() if r.still_frames >= limit}
        if not still:
            return None
        parts = [
            f"camera {n} repeated one picture {k} times ({k / self.fps:.1f} s)"
            for n, k in still.items()
        ]
        return "; ".join(parts) + ": it gave no new frame meanwhile (check its cable and USB)"

    def _space_warning(self) -> str | None:
        """After a save: a warning when the disk cannot hold another episode like this one."""
        free = self._free_bytes()
        if free is None or free >= self.episode_bytes:
            return None
        return (
            f"only {_mb(free)} free on the disk of {self.root}; the next episode needs about "
            f"{_mb(self.episode_bytes)}: free some space, or stop and add episodes later with "
            "--resume=true"
        )

    def _space_note(self) -> str:
        """After a failed save: how much space is free and about how much one episode needs."""
        free = self._free_bytes()
        if free is None or not self.episode_bytes and free > 0:
            return ""
        need = f"; an episode needs about {_mb(self.episode_bytes)}" if self.episode_bytes else ""
        return f" ({_mb(free)} free on the disk of {self.root}{need})"

    def _undo_last(self) -> None:
        if self._last_publish is None:
            logger.warning("dataset %s: no saved episode to take out", self.repo_id)
            return
        previous, undo = self._last_publish
        self._last_publish = None
        try:
            commit.publish(self.root, undo)
        except OSError:
            logger.exception("dataset %s: the last episode could not be taken out", self.repo_id)
            return
        self.meta = previous
        self._saved -= 1
        self._report(EpisodeRemoved(previous.total_episodes))

    def _finish(self, handle: SaveHandle, written: EpisodeWritten) -> None:
        handle.result = written
        handle._done.set()
        self._report(written)

    def _report(self, written: Written) -> None:
        self._events.put(written)
        if self._on_written is not None:
            try:
                self._on_written(written)
            except Exception:
                logger.exception("on_written callback failed")


def _bytes_under(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _dim(features: dict, key: str) -> int:
    return features[key]["shape"][0] if key in features else 0


def _settings(features: dict, video: bool, encoder: VideoSettings) -> VideoSettings | None:
    dtypes = {ft["dtype"] for ft in features.values()}
    if video and "image" in dtypes or not video and "video" in dtypes:
        raise ConfigError("features disagree with video=" + str(video).lower())
    return encoder if video else None
