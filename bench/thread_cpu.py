"""CPU time by thread of this process (Linux `/proc/self/task`), named by Python's threads; the
threads Python did not start (the codecs' own, PyAV's) are summed as "native". Threads end
(and vanish from /proc) before a session returns: `sample()` it while it runs."""

from __future__ import annotations

import os
import threading
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


class ThreadCpu:
    def __init__(self):
        self._seen: dict[int, tuple[str, float]] = {}  # tid -> (name, CPU seconds)
        self._base = dict(self._read())

    def _read(self):
        names = {t.native_id: t.name for t in threading.enumerate()}
        for task in Path("/proc/self/task").iterdir():
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # the thread ended meanwhile
                continue
            tid = int(task.name)
            seconds = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
            yield tid, (names.get(tid, "native"), seconds)

    def sample(self) -> None:
        for tid, (name, seconds) in self._read():
            known = self._seen.get(tid)
            self._seen[tid] = (known[0] if known and known[0] != "native" else name, seconds)

    def by_name(self) -> dict[str, float]:
        """CPU seconds since this object was made, by thread name."""
        out: dict[str, float] = {}
        for tid, (name, seconds) in self._seen.items():
            spent = seconds - self._base.get(tid, (name, 0.0))[1]
            if spent > 0:
                out[name] = out.get(name, 0.0) + spent
        return out
