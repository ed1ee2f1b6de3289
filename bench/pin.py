"""The one-core rig: this process on one core, the emulators it spawns on the others.

`pin_to_one_core()` must run first thing, before any thread exists (threads inherit the
affinity of their creator); it is what `taskset -c 0` does to lerecord. `move_children()` then
puts every task of the child processes (the servo emulators, `port=sim`) on the remaining cores,
as if they were the real arm on the far side of the wire.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def pin_to_one_core() -> tuple[int, set[int]]:
    """(the core this process now runs on, the cores left for the emulators)."""
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        raise SystemExit(
            "the one-core rig needs 2 allowed cores (one for lerecord, one for the arm)"
        )
    os.sched_setaffinity(0, {allowed[0]})
    return allowed[0], set(allowed[1:])


def move_children(cores: set[int]) -> int:
    """Move every thread of this process's children to `cores`; returns how many processes."""
    moved = 0
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
            for pid in children:
                for thread in Path(f"/proc/{pid}/task").iterdir():
                    try:
                        os.sched_setaffinity(int(thread.name), cores)
                    except (ProcessLookupError, PermissionError):
                        continue
                moved += 1
        except FileNotFoundError:  # a thread or a child that ended meanwhile
            continue
    return moved


def keep_children_on(cores: set[int], every_s: float = 0.2) -> threading.Event:
    """Move this process's children to `cores` now and every `every_s` (a benchmark that starts
    emulators or servers as it goes); set the returned event to stop."""
    stop = threading.Event()

    def run() -> None:
        while True:
            move_children(cores)
            if stop.wait(every_s):
                return

    threading.Thread(target=run, name="pin-children", daemon=True).start()
    return stop
