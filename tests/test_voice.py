"""Spoken announcements: real speech rendered to WAV with espeak-ng, silence with one warning when
there is no engine or sound device, nothing started when disabled, and a queue that drops."""

from __future__ import annotations

import functools
import multiprocessing
import shutil
import subprocess
import threading
import time
import wave

import numpy as np
import pytest
import voice_fakes
from needs import need

from core import messages as m
from core.voice import Voice, announcement, has_sound_device, overheating, render_to_wav


def wait_until(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def espeak_available() -> bool:
    try:
        import pyttsx3

        pyttsx3.init()
        return True
    except Exception:
        return False


def test_announcements_render_to_wav_files_that_hold_speech(tmp_path):
    need(espeak_available(), "espeak-ng (pyttsx3's speech engine)")
    texts = ["Recording episode 3", "Reset the environment", "Re-record episode",
             "Stop recording", "Shoulder pan is overheating", "Follower arm lost"]  # fmt: skip
    files = render_to_wav({t: tmp_path / f"{i}.wav" for i, t in enumerate(texts)})
    durations = []
    for text, path in files.items():
        with wave.open(str(path), "rb") as w:
            assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
            rate = w.getframerate()
            samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16) / 32768.0
        duration = len(samples) / rate
        durations.append(duration)
        assert 0.5 < duration < 5.0, (text, duration)
        rms = float(np.sqrt(np.mean(samples**2)))
        assert rms > 0.02, (text, rms)  # speech, not silence
        voiced = np.mean(np.abs(samples) > 0.05)
        assert voiced > 0.1, (text, voiced)
        if shutil.which("sox"):
            stat = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True)
            length = float(stat.stderr.split("Length (seconds):")[1].split()[0])
            assert length == pytest.approx(duration, abs=0.01)
    assert len({round(d, 2) for d in durations}) > 3  # different sentences, different audio


def test_announcements_for_engine_events():
    assert announcement(m.EpisodeStarted(at=0, episode_index=4, task="t")) == "Recording episode 4"
    assert announcement(m.PhaseChanged(at=0, phase="reset", episode_index=4)) == (
        "Reset the environment"
    )
    assert announcement(m.EpisodeDiscarded(at=0, episode_index=4, frames=3, reason="rerecord")) == (
        "Re-record episode"
    )
    assert (
        announcement(m.SessionEnded(at=0, reason="stopped", episodes_saved=1, dataset_root="/d"))
        == "Stop recording"
    )
    assert (
        announcement(
            m.DeviceFault(at=0, device="so101_follower", message="no reply", recovered=False)
        )
        == "Follower arm lost"
    )
    assert announcement(m.DeviceFault(at=0, device="follower", message="x", recovered=True)) is None
    assert announcement(m.PhaseChanged(at=0, phase="recording", episode_index=4)) is None
    assert overheating("shoulder_pan") == "Shoulder pan is overheating"


def test_disabled_voice_starts_nothing():
    before = set(threading.enumerate())
    voice = Voice(enabled=False, engine_factory=voice_fakes.no_engine)
    voice.say("Recording episode 1")
    voice.on_event(m.EpisodeStarted(at=0, episode_index=1, task="t"))
    voice.close()
    assert set(threading.enumerate()) == before
    assert multiprocessing.active_children() == []
    assert not voice.active and voice._process is None


def test_no_speech_engine_gives_one_warning_then_silence():
    warnings: list[str] = []
    voice = Voice(
        engine_factory=voice_fakes.no_engine, sound_check=None, on_warning=warnings.append
    )
    voice.say("Recording episode 1")
    assert wait_until(lambda: warnings)
    for _ in range(20):
        voice.say("Reset the environment")
    time.sleep(0.2)
    voice.close()
    assert len(warnings) == 1
    assert warnings[0].startswith("voice off: no speech engine (RuntimeError: This means you")
    assert "install espeak-ng" in warnings[0] and not voice.active


def test_no_sound_device_gives_one_warning_then_silence():
    warnings: list[str] = []
    voice = Voice(
        engine_factory=voice_fakes.no_engine,
        sound_check=voice_fakes.no_sound,
        on_warning=warnings.append,
    )
    assert wait_until(lambda: warnings)
    assert voice.wait_ready(1) is False
    voice.say("Stop recording")
    voice.close()
    assert warnings == ["voice off: no sound device (no sound card or sound server found); "
                        "announcements will not be spoken"]  # fmt: skip


@pytest.mark.skipif(has_sound_device(), reason="this machine has a sound device")
def test_default_voice_on_this_machine_without_sound_warns_once(caplog):
    with caplog.at_level("WARNING", logger="core.voice"):
        voice = Voice()
        voice.say("Recording episode 1")
        assert wait_until(lambda: caplog.records)
        voice.say("Recording episode 2")
        voice.close()
    assert len(caplog.records) == 1 and "no sound device" in caplog.text


def test_say_never_blocks_and_the_queue_drops_the_oldest(tmp_path):
    spoken = tmp_path / "spoken.txt"
    engine = functools.partial(voice_fakes.RecordingEngine, str(spoken), 0.5)
    voice = Voice(engine_factory=engine, sound_check=None, max_pending=2)
    assert voice.wait_ready(15)
    voice.say("one")
    assert wait_until(lambda: spoken.exists() and "start:one" in spoken.read_text())
    for text in ("two", "three", "four", "five"):
        voice.say(text)  # the engine is busy for 0.5 s: these return at once
    assert "two" not in spoken.read_text() and "done:one" not in spoken.read_text()
    assert wait_until(lambda: "done:five" in spoken.read_text())
    voice.close()
    said = [line.split(":", 1)[1] for line in spoken.read_text().splitlines()
            if line.startswith("start:")]  # fmt: skip
    assert said == ["one", "four", "five"] and voice.dropped == 2


def test_stale_announcements_are_skipped(tmp_path):
    spoken = tmp_path / "spoken.txt"
    engine = functools.partial(voice_fakes.RecordingEngine, str(spoken), 0.4)
    voice = Voice(engine_factory=engine, sound_check=None, max_age_s=0.1)
    assert voice.wait_ready(15)
    voice.say("one")
    assert wait_until(lambda: spoken.exists() and "start:one" in spoken.read_text())
    voice.say("two")  # waits 0.4 s behind "one": too old to be worth saying
    assert wait_until(lambda: voice.dropped == 1)
    voice.say("three")
    assert wait_until(lambda: "done:three" in spoken.read_text())
    voice.close()
    assert "two" not in spoken.read_text()
    assert multiprocessing.active_children() == []


def test_speaker_output_never_reaches_the_terminal(tmp_path, capfd):
    spoken = tmp_path / "spoken.txt"
    engine = functools.partial(voice_fakes.RecordingEngine, str(spoken), 0.0)
    voice = Voice(engine_factory=engine, sound_check=None)
    voice.say("Recording episode 1")
    assert wait_until(lambda: spoken.exists() and "done:" in spoken.read_text())
    voice.close()
    out, err = capfd.readouterr()
    assert "chatter" not in out and "chatter" not in err
