"""Stand-ins for a speech engine, used by the voice tests in the speaker process.

Module-level so the spawned speaker process can import them. `RecordingEngine` stands in for a
sound card (there is none on the test machine): it writes what it would say to a file.
"""

from __future__ import annotations

import time
from pathlib import Path


def no_engine():
    raise RuntimeError("This means you probably do not have eSpeak or eSpeak-ng installed!")


def no_sound() -> bool:
    return False


class RecordingEngine:
    def __init__(self, path: str, seconds: float):
        self.path = Path(path)
        self.seconds = seconds
        self.text = ""

    def say(self, text: str) -> None:
        self.text = text
        print("pyttsx3-like chatter on stdout")  # must not reach the terminal

    def runAndWait(self) -> None:  # noqa: N802 (pyttsx3's name)
        with self.path.open("a") as out:
            out.write(f"start:{self.text}\n")
        time.sleep(self.seconds)
        with self.path.open("a") as out:
            out.write(f"done:{self.text}\n")
