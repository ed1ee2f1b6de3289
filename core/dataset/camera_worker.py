"""One worker thread per camera: streams the episode's frames into its video (or PNG files)
while the episode is being recorded, so that saving only has to close the file.

The control thread hands frames over with `offer()`, which never blocks: a frame goes on an
unbounded `SimpleQueue`, but only while fewer than `queue_size` frames wait there; otherwise the
frame is dropped and counted. Each frame carries its index in the episode, so a gap (a dropped
frame) is filled by repeating the previous image: the video always has exactly one frame per
parquet row, at PTS n/fps, and the loader's timestamp check holds. Episode boundaries travel on
the same queue as the frames (`finish`, `abort`), so they can never overtake them.

Two codec calls hold the GIL long and so stall every other Python thread, the control thread
too: opening an encoder (FFmpeg's `avcodec_open2`: SVT-AV1 ~10-20 ms) and freeing it
(`avcodec_free_context`: SVT-AV1 10-20 ms, 40+ on a loaded machine). PyAV's container and
stream refer to each other, so a closed video's codec is freed by the garbage collector, by
whichever thread's allocation sets a collection off, at any moment. So each worker makes both
calls only at a turn (`StepTurns`) that the control thread gives right after a step, one per
step, in the time it then sleeps (`DatasetRecorder.between_steps`): a take's video is opened
ahead of its first frame (`prepare`: the first take's before the session's first step, the next
take's between episodes), and a finished take's codec is let go and collected at a turn.

For the camera statistics the worker also keeps, per frame, a 256-level histogram of each channel
of the frame downscaled as lerobot does; at the end of the episode the histograms of lerobot's
sampled frames are summed (see `stats.image_stats`). A depth camera's worker (`depth` settings,
frames (H, W, 1) uint16 millimetres) quantises each frame as lerobot does (`core.dataset.depth`)
into a 12-bit one-plane video, and keeps each frame downscaled in millimetres instead: its
statistics are in millimetres (lerobot does not divide a depth map's by 255).
"""

from __future__ import annotations

import gc
import logging
import os
import queue
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.dataset import depth as depth_maps
from core.dataset.stats import Stats, depth_stats, downsample_step, sample_indices
from core.dataset.video_encoder import DepthSettings, VideoSettings
from core.priority import forgo_realtime, made_realtime

logger = logging.getLogger(__name__)

# SVT-AV1 prints a banner and settings on stderr for every encoder (the TUI's terminal): errors
# only. Set at import, before any encoder thread exists (setenv is not thread-safe).
os.environ.setdefault("SVT_LOG", "1")

FINISH_STALL_S = 30.0  # an encoder that makes no progress this long is given up on
TURN_WAIT_S = 1.0  # the longest a worker waits for a turn (the steps may have stopped)
WAIT_SLICE_S = 0.2
ENCODER_NICE = 5  # encoders yield the CPU to the control thread (Linux; inherited by codec threads)


@dataclass
class TakeResult:
    """What a camera produced for one take (one recording of an episode)."""

    path: Path | None  # the mp4, or the folder of PNG frames
    frames: int = 0
    repeated: int = 0  # frames written twice to cover dropped ones
    channel_hist: np.ndarray | None = None  # (3, 256) summed over the sampled frames
    sampled: int = 0
    depth_stats: Stats | None = None  # a depth camera's statistics (millimetres)
    error: str | None = None


@dataclass
class _Finish:
    take: int
    length: int
    done: threading.Event = field(default_factory=threading.Event)
    result: TakeResult | None = None
    still_frames: int = 0  # the longest run of one picture given again and again in the take


@dataclass(frozen=True)
class _Abort:
    take: int


@dataclass
class _Prepare:
    take: int
    done: threading.Event = field(default_factory=threading.Event)


_STOP = object()


class StepTurns:
    """Turns for the codec calls that hold the GIL long, given by the control thread right
    after a step (`give`), one per step, so that each falls in the time it sleeps. Before the
    first step and once stopped (no control loop), a turn is had at once; a worker never waits
    for one longer than `TURN_WAIT_S`."""

    def __init__(self) -> None:
        self._waiting: queue.SimpleQueue[threading.Event] = queue.SimpleQueue()
        self._stepping = False

    def take(self) -> None:
        """Wait for a turn (worker threads)."""
        if not self._stepping:
            return
        turn = threading.Event()
        self._waiting.put(turn)
        turn.wait(TURN_WAIT_S)

    def give(self) -> None:
        """A step just ended: one waiting worker may go (the control thread)."""
        self._stepping = True
        if not self._waiting.empty():
            self._waiting.get_nowait().set()

    def stop(self) -> None:
        """No more steps: every turn is had at once."""
        self._stepping = False
        while not self._waiting.empty():
            self._waiting.get_nowait().set()


class CameraWorker:
    """Encodes one camera's frames, take by take, into files under `staging`."""

    def __init__(
        self,
        key: str,
        shape: tuple[int, int, int],
        fps: int,
        staging: Path,
        video: VideoSettings | None,
        queue_size: int = 30,
        threads: int | None = None,
        depth: DepthSettings | None = None,
        turns: StepTurns | None = None,
    ):
        self.key = key
        self.turns = turns or StepTurns()  # the recorder's: codec calls right after a step
        self.shape = tuple(shape)
        self.fps = fps
        self.staging = staging
        self.video = video
        self.depth = depth  # set: the frames are depth maps, encoded with these settings
        self.queue_size = queue_size
        self.threads = threads  # encoder threads (`--dataset.encoder_threads`); None: the codec's
        self.enqueued = 0  # written by the producer only
        self.consumed = 0  # written by the worker only
        self.dropped = 0  # written by the producer only
        self.codec_threads_normal = False  # the worker forwent real-time (`core.priority`)
        self._last_image: np.ndarray | None = None  # producer only, as the three below
        self._still = 0
        self._longest_still = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._takes: dict[int, _Take | _FailedTake] = {}
        self._thread = threading.Thread(target=self._run, name=f"encoder-{key}", daemon=True)
        self._thread.start()

    # ---- producer side (control thread): never blocks -----------------------------------------

    @property
    def backlog(self) -> int:
        return self.enqueued - self.consumed

    def offer(self, take: int, index: int, image: np.ndarray) -> bool:
        if image is self._last_image:  # the camera gave no new picture since the last step
            self._still += 1
            self._longest_still = max(self._longest_still, self._still + 1)
        else:
            self._last_image, self._still = image, 0
        if self.enqueued - self.consumed >= self.queue_size:
            self.dropped += 1
            return False
        self._queue.put((take, index, image))
        self.enqueued += 1
        return True

    def finish(self, take: int, length: int) -> _Finish:
        """Ask for the take to be closed at `length` frames; wait on the returned `.done`."""
        request = _Finish(take, length, still_frames=self._longest_still)
        self._forget_still()
        self._queue.put(request)
        return request

    def _forget_still(self) -> None:
        self._last_image, self._still, self._longest_still = None, 0, 0

    def wait_finished(self, request: _Finish, stall_s: float = FINISH_STALL_S) -> TakeResult:
        """The take's result once the worker has closed it; an error result, never a wait for
        ever, when the worker thread has ended or has made no progress for `stall_s`."""
        seen, since = self.consumed, time.monotonic()
        while not request.done.wait(WAIT_SLICE_S):
            if not self.alive:
                return TakeResult(None, error=f"camera {self.key}: its encoder thread ended")
            if self.consumed != seen:
                seen, since = self.consumed, time.monotonic()
            elif time.monotonic() - since > stall_s:
                return TakeResult(
                    None, error=f"camera {self.key}: the encoder made no progress in {stall_s:g} s"
                )
        return request.result or TakeResult(None, error=f"camera {self.key}: the take failed")

    def abort(self, take: int) -> None:
        self._forget_still()
        self._queue.put(_Abort(take))

    def prepare(self, take: int) -> threading.Event:
        """Open the video of `take` now, before its first frame (set once it is open or the
        attempt failed: the first frame then tries again)."""
        request = _Prepare(take)
        self._queue.put(request)
        return request.done

    def stop(self, timeout: float | None = None) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)

    # ---- worker side ---------------------------------------------------------------------------

    def _run(self) -> None:
        self.codec_threads_normal = _lower_priority()
        while True:
            item = self._queue.get()
            if item is _STOP:
                for take in list(self._takes.values()):
                    take.discard()
                self._takes.clear()
                return
            if isinstance(item, _Finish):
                closed = self._takes.pop(item.take, None)
                try:
                    item.result = self._finish(item.take, item.length, closed)
                finally:  # whoever waits on it is never left waiting
                    item.done.set()
                if closed is not None:
                    closed.free()  # after the result: the save goes on meanwhile
            elif isinstance(item, _Abort):
                take = self._takes.pop(item.take, None)
                if take is not None:
                    take.discard()
            elif isinstance(item, _Prepare):
                try:
                    self._prepare(item.take)
                finally:
                    item.done.set()
            else:
                self._write(*item)

    @property
    def alive(self) -> bool:
        """False once the worker thread has ended (stopped, or died on a bug)."""
        return self._thread.is_alive()

    def _write(self, take_id: int, index: int, image: np.ndarray) -> None:
        try:
            take = self._takes.get(take_id)
            if take is None:
                take = self._takes[take_id] = _Take(self, take_id)
            if isinstance(take, _Take) and take.error is None:  # a failed take: once, at its end
                take.write(index, image)
        except Exception as error:  # reported when the take is finished
            logger.exception("camera %s: frame %d not written", self.key, index)
            failed = self._takes.setdefault(take_id, _FailedTake(self, str(error)))
            failed.error = failed.error or str(error)
        finally:
            self.consumed += 1

    def _prepare(self, take_id: int) -> None:
        if take_id in self._takes or self.video is None:
            return
        take = _Take(self, take_id)
        try:
            take.open()
        except Exception:  # the first frame opens it again and reports what fails
            logger.exception("camera %s: take %d not opened ahead", self.key, take_id)
            take.discard()
            return
        self._takes[take_id] = take

    def _finish(self, take_id: int, length: int, take: _Take | _FailedTake | None) -> TakeResult:
        try:
            if take is None:
                take = _Take(self, take_id)
            return take.close(length)
        except Exception as error:
            logger.exception("camera %s: take %d not finished", self.key, take_id)
            if take is not None:
                take.discard()
            return TakeResult(None, error=f"camera {self.key}: {error}")


class _Take:
    """One camera's files for one take: the open video (or PNG folder) and frame histograms."""

    def __init__(self, worker: CameraWorker, take_id: int):
        self.worker = worker
        self.error: str | None = None
        self.written = 0
        self.repeated = 0
        self.last: np.ndarray | None = None
        self.hists: list[np.ndarray] = []
        h, w, _ = worker.shape
        self.step = downsample_step(h, w)
        base = worker.staging / f"take-{take_id:06d}"
        self.path = base / (f"{worker.key}.mp4" if worker.video else worker.key)
        self.container: Any = None  # av's output container and stream, opened with the first frame
        self.stream: Any = None

    def write(self, index: int, image: np.ndarray) -> None:
        if index < self.written:
            return
        if image.shape != self.worker.shape:
            raise ValueError(f"frame shape {image.shape}, expected {self.worker.shape}")
        hist = self._summary(image)
        fill = self.last if self.last is not None else image
        fill_hist = self.hists[-1] if self.hists else hist
        while self.written < index:  # frames dropped before this one
            self._encode(fill)
            self.hists.append(fill_hist)
            self.repeated += 1
        self._encode(image)
        self.hists.append(hist)
        self.last = image

    def close(self, length: int) -> TakeResult:
        if self.error:
            raise RuntimeError(self.error)
        if length > 0 and self.last is None:
            raise RuntimeError("no frame arrived from this camera during the episode")
        while self.written < length:  # the last frames were dropped
            self._encode(self.last)
            self.hists.append(self.hists[-1])
            self.repeated += 1
        if self.written > length:
            raise RuntimeError(f"{self.written} frames encoded for an episode of {length}")
        if self.container is not None:
            for packet in self.stream.encode():
                self.container.mux(packet)
            self.container.close()
            self.container = None
        picked = sample_indices(length) if length else []
        if self.worker.depth is not None:
            stats = depth_stats([self.hists[i] for i in picked]) if picked else None
            return TakeResult(self.path, length, self.repeated, None, len(picked), stats)
        hist = np.sum([self.hists[i] for i in picked], axis=0) if picked else None
        return TakeResult(self.path, length, self.repeated, hist, len(picked))

    def _summary(self, image: np.ndarray) -> np.ndarray:
        """What the statistics need of a frame: its channel histograms, or for a depth map the
        map itself downscaled (millimetres)."""
        if self.worker.depth is not None:
            return image[:: self.step, :: self.step, 0].copy()
        return _channel_hist(image, self.step)

    def free(self) -> None:
        """Let the closed video's codec go, at a turn: its container and stream refer to each
        other, so it is freed by a collection, made here (the setup is frozen out of it)."""
        if self.stream is None:
            return
        self.worker.turns.take()
        self.container = self.stream = None
        gc.collect()

    def discard(self) -> None:
        if self.container is not None:
            try:
                for _ in self.stream.encode():  # end of stream first (SVT-AV1 complains else)
                    pass
                self.container.close()
            except Exception as error:  # a half-open container being thrown away
                logger.debug("discarding %s: %s", self.path, error)
            self.container = None
        if self.path.is_dir():
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            self.path.unlink(missing_ok=True)
        self.free()  # a discarded take is never used again

    def _encode(self, image: np.ndarray) -> None:
        if self.worker.video is None:
            if self.written == 0:
                self.path.mkdir(parents=True, exist_ok=True)
            _write_png(self.path / f"frame-{self.written:06d}.png", image)
        else:
            import av

            if self.container is None:
                self.open()
            depth = self.worker.depth
            if depth is not None:
                codes = depth_maps.quantize(image, depth)
                frame = depth_maps.video_frame(codes, depth.pix_fmt)
            else:
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = self.written
            for packet in self.stream.encode(frame):
                self.container.mux(packet)
            if self.written == 0:  # the codec and its threads start with the first frame
                _demote_realtime_threads(self.realtime_before)
        self.written += 1

    def open(self) -> None:
        """Create the mp4 and open its encoder (the codec's threads start here)."""
        import av

        settings = self.worker.depth or self.worker.video
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.worker.turns.take()
        self.realtime_before = None if self.worker.codec_threads_normal else _realtime_threads()
        self.container = av.open(str(self.path), "w")
        options = settings.options(self.worker.threads)
        if settings.encoder == "libx265":  # x265 prints its settings on stderr: errors only
            given = options.get("x265-params")
            options["x265-params"] = ":".join([*([given] if given else []), "log-level=error"])
        stream = self.container.add_stream(settings.encoder, rate=self.worker.fps, options=options)
        h, w, _ = self.worker.shape
        stream.width, stream.height, stream.pix_fmt = w, h, settings.pix_fmt
        self.stream = stream
        self.container.start_encoding()  # avcodec_open2 and the header, with the GIL held
        _demote_realtime_threads(self.realtime_before)


class _FailedTake:
    """A take whose files could not even be started: only its error, reported at its end."""

    def __init__(self, worker: CameraWorker, error: str):
        self.error = error

    def close(self, length: int) -> TakeResult:
        raise RuntimeError(self.error)

    def discard(self) -> None:
        pass

    def free(self) -> None:
        pass


def _lower_priority() -> bool:
    """This encoder thread, and the codec threads it starts, below the control thread; True
    when no codec thread can be real-time."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), ENCODER_NICE)
    except OSError:
        pass
    return forgo_realtime()


def _realtime_threads() -> set[int]:
    """Threads of this process running with a real-time scheduling policy (Linux)."""
    if not sys.platform.startswith("linux"):
        return set()
    found = set()
    for name in os.listdir("/proc/self/task"):
        try:
            policy = os.sched_getscheduler(int(name)) & ~os.SCHED_RESET_ON_FORK
            if policy in (os.SCHED_FIFO, os.SCHED_RR):
                found.add(int(name))
        except OSError:  # the thread ended meanwhile
            pass
    return found


def _demote_realtime_threads(before: set[int] | None) -> None:
    """Return codec threads started as real-time to normal scheduling, where the worker could
    not forgo real-time (`before` None: it did, nothing to do).

    SVT-AV1 gives its worker threads SCHED_FIFO priority 99 when the process runs as root; on a
    busy machine they then starve every other thread (the control loop was measured waking up
    100 ms late). Threads that were real-time before the codec opened are left alone, and so is
    the control thread (`core.priority`), which may have become real-time since."""
    if before is None:
        return
    for tid in _realtime_threads() - before - made_realtime():
        try:
            os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
            os.setpriority(os.PRIO_PROCESS, tid, ENCODER_NICE)
        except OSError:
            logger.debug("thread %d keeps its real-time priority", tid)


def _channel_hist(image: np.ndarray, step: int) -> np.ndarray:
    small = image[::step, ::step].reshape(-1, 3)
    return np.stack([np.bincount(small[:, c], minlength=256) for c in range(3)]).astype(np.int32)


def _write_png(path: Path, image: np.ndarray) -> None:
    import cv2

    ok, data = cv2.imencode(".png", image[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError(f"PNG encoding failed for {path.name}")
    path.write_bytes(data.tobytes())
