"""Spoken announcements (`--play_sounds`): "Recording episode 3", "Reset the environment" …

Speech runs in its own process (pyttsx3 with espeak-ng on Linux), with its stdout and stderr on
/dev/null: pyttsx3 prints ("Audio saved to …", playback errors) and its event loop is not
thread-safe, and nothing may write to the terminal the console draws on. `say()` never blocks:
it appends to a short deque that drops the oldest announcement when full, and announcements
older than a few seconds are skipped (stale news is worse than none). A feeder thread hands
them to the speaker process one at a time.

When there is no speech engine or no sound device, one warning goes to `on_warning` (or the log)
and the voice falls silent. `Voice(enabled=False)` starts nothing at all.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import platform
import shutil
import sys
import threading
import time
import wave
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core import messages as m

log = logging.getLogger(__name__)

_READY_TIMEOUT_S = 30.0


def default_engine() -> Any:
    """pyttsx3's engine for this platform (espeak-ng on Linux); raises when there is none."""
    import pyttsx3

    return pyttsx3.init()


def has_sound_device() -> bool:
    """Whether spoken audio can be heard: a sound card or a sound server (Linux), macOS's afplay."""
    if platform.system() == "Darwin":
        return shutil.which("afplay") is not None
    if platform.system() == "Windows":
        return True
    if shutil.which("aplay") is None:
        return False
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    servers = [Path(runtime, "pulse/native"), Path(runtime, "pipewire-0")] if runtime else []
    return (
        Path("/dev/snd").is_dir()
        or bool(os.environ.get("PULSE_SERVER"))
        or any(p.exists() for p in servers)
    )


def announcement(event: m.Event) -> str | None:
    """What to say for an engine event (lerobot's phrases), or None."""
    if isinstance(event, m.EpisodeStarted):
        return f"Recording episode {event.episode_index}"
    if isinstance(event, m.PhaseChanged) and event.phase == "reset":
        return "Reset the environment"
    if isinstance(event, m.EpisodeDiscarded) and event.reason == "rerecord":
        return "Re-record episode"
    if isinstance(event, m.SessionEnded):
        return "Stop recording"
    if isinstance(event, m.DeviceFault) and not event.recovered:
        return f"{spoken_device(event.device)} lost"
    return None


def spoken_device(device: str) -> str:
    """'so101_follower' -> 'Follower arm'; 'front' -> 'Front'."""
    name = device.lower()
    for role in ("follower", "leader"):
        if role in name:
            return f"{role.capitalize()} arm"
    return device.replace("_", " ").strip().capitalize()


def overheating(motor: str) -> str:
    """'shoulder_pan' -> 'Shoulder pan is overheating'."""
    return f"{motor.replace('_', ' ').capitalize()} is overheating"


class Voice:
    """Speaks announcements away from the control loop; `say()` returns at once."""

    def __init__(
        self,
        enabled: bool = True,
        engine_factory: Callable[[], Any] = default_engine,
        on_warning: Callable[[str], None] | None = None,
        max_pending: int = 2,
        max_age_s: float = 6.0,
        sound_check: Callable[[], bool] | None = has_sound_device,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.enabled = enabled
        self.dropped = 0  # announcements skipped: queue full or stale
        self._factory = engine_factory
        self._on_warning = on_warning
        self._max_age_s = max_age_s
        self._sound_check = sound_check
        self._clock = clock
        self._pending: deque[tuple[str, float]] = deque(maxlen=max_pending)
        self._wake = threading.Event()
        self._ready = threading.Event()
        self._closing = False
        self._silent = not enabled
        self._process: multiprocessing.process.BaseProcess | None = None
        self._thread: threading.Thread | None = None
        if enabled:
            self._thread = threading.Thread(target=self._feed, name="voice", daemon=True)
            self._thread.start()

    @property
    def active(self) -> bool:
        """False when disabled, closed, or silenced by a missing engine or sound device."""
        return not self._silent and not self._closing

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the speaker process can speak (False: disabled, silenced or timed out)."""
        self._ready.wait(timeout)
        return self._ready.is_set() and self.active

    def say(self, text: str) -> None:
        """Queue `text` to be spoken; never blocks, never raises, drops the oldest when full."""
        if self._silent or self._closing:
            return
        if len(self._pending) == self._pending.maxlen:
            self.dropped += 1
        self._pending.append((text, self._clock()))
        self._wake.set()

    def on_event(self, event: m.Event) -> None:
        """Say what the event calls for, if anything."""
        text = announcement(event)
        if text:
            self.say(text)

    def close(self, timeout: float = 3.0) -> None:
        """Stop speaking (what is queued is dropped) and end the speaker process. Idempotent."""
        if self._closing:
            return
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._process is not None and self._process.is_alive():
            self._process.terminate()
            self._process.join(1.0)

    # ---- feeder thread -------------------------------------------------------------------------

    def _feed(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        conn, child = ctx.Pipe()
        try:
            self._process = ctx.Process(
                target=_speaker,
                args=(child, self._factory, self._sound_check),
                name="lerecord-voice",
                daemon=True,
            )
            self._process.start()
            child.close()
            status, detail = _receive(conn, _READY_TIMEOUT_S, lambda: self._closing)
        except Exception as error:
            status, detail = "failed", f"{type(error).__name__}: {error}"
        if status != "ready":
            if not self._closing:
                self._go_silent(detail or "the speech process did not start")
            return
        self._ready.set()
        while not self._closing:
            self._wake.wait()
            self._wake.clear()
            while self._pending and not self._closing:
                text, at = self._pending.popleft()
                if self._clock() - at > self._max_age_s:
                    self.dropped += 1
                    continue
                try:
                    conn.send(text)
                    status, detail = _receive(conn, 60.0, lambda: self._closing)
                except (OSError, EOFError) as error:
                    status, detail = "failed", f"the speech process ended ({error})"
                if status == "failed":
                    self._go_silent(detail)
                    return
        try:
            conn.send(None)
        except OSError:
            pass

    def _go_silent(self, reason: str) -> None:
        self._silent = True
        self._ready.set()
        self._pending.clear()
        message = f"voice off: {reason}; announcements will not be spoken"
        if self._on_warning is None:
            log.warning(message)
            return
        try:
            self._on_warning(message)
        except Exception:
            log.exception("voice warning callback failed")


def _receive(conn, timeout: float, cancelled: Callable[[], bool]) -> tuple[str, str | None]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cancelled():
            return "cancelled", None
        if conn.poll(0.1):
            try:
                return conn.recv()
            except EOFError:
                return "failed", "the speech process ended"
    return "failed", f"no answer from the speech process in {timeout:.0f}s"


def _quiet() -> None:
    """Send this process's stdout and stderr (and its children's: aplay, espeak) to /dev/null."""
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (lives as long as the process)


def _speaker(conn, factory: Callable[[], Any], sound_check: Callable[[], bool] | None) -> None:
    """The speaker process: ('ready'|'failed', detail), then ('done', None) per text spoken."""
    _quiet()
    if sound_check is not None and not sound_check():
        conn.send(("failed", "no sound device (no sound card or sound server found)"))
        return
    try:
        engine = factory()
    except Exception as error:
        conn.send(("failed", f"no speech engine ({type(error).__name__}: {error}); "
                             "install espeak-ng (Linux) to hear announcements"))  # fmt: skip
        return
    conn.send(("ready", None))
    while True:
        try:
            text = conn.recv()
        except (EOFError, OSError):
            return
        if text is None:
            return
        try:
            engine.say(text)
            engine.runAndWait()
        except Exception as error:
            conn.send(("failed", f"speech failed ({type(error).__name__}: {error})"))
            return
        conn.send(("done", None))


# ---- rendering to files (tests, diagnostics) -----------------------------------------------------


RENDER_ATTEMPTS = 4


def render_to_wav(
    texts: dict[str, Path],
    engine_factory: Callable[[], Any] = default_engine,
    timeout: float = 30.0,
) -> dict[str, Path]:
    """Speak each text into its WAV file, in a quiet child process; return the complete files.

    pyttsx3's `save_to_file` + `runAndWait` may return before the file is written: each file is
    waited for until its RIFF header agrees with its size. Raises RuntimeError on failure.
    """
    ctx = multiprocessing.get_context("spawn")
    conn, child = ctx.Pipe()
    jobs = [(text, str(path)) for text, path in texts.items()]
    process = ctx.Process(target=_renderer, args=(child, engine_factory, jobs), daemon=True)
    process.start()
    child.close()
    try:
        status, detail = _receive(conn, timeout, lambda: False)
    finally:
        process.join(2.0)
        if process.is_alive():
            process.terminate()
    if status != "done":
        raise RuntimeError(f"rendering speech failed: {detail}")
    return {text: Path(path) for text, path in jobs}


def _renderer(conn, factory: Callable[[], Any], jobs: list[tuple[str, str]]) -> None:
    _quiet()
    try:
        engine = factory()
        for text, path in jobs:
            # pyttsx3 sometimes leaves a file at its bare header: say it again into the file.
            for _ in range(RENDER_ATTEMPTS):
                engine.save_to_file(text, path)
                engine.runAndWait()
                if _wait_for_wav(Path(path), 3.0):
                    break
            else:
                conn.send(("failed", f"{path} was not completed"))
                return
    except Exception as error:
        conn.send(("failed", f"{type(error).__name__}: {error}"))
        return
    conn.send(("done", None))


def wav_complete(path: Path) -> bool:
    """Whether a WAV file is whole: it opens and its frames fill the file."""
    try:
        with wave.open(str(path), "rb") as w:
            expected = w.getnframes() * w.getsampwidth() * w.getnchannels()
            return w.getnframes() > 0 and path.stat().st_size >= expected + 44
    except (OSError, EOFError, wave.Error):
        return False


def _wait_for_wav(path: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if wav_complete(path):
            return True
        time.sleep(0.02)
    return False
