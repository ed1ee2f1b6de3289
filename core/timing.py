"""Keeping time in the control loop: absolute deadlines and recent-history windows.

The control thread sleeps until `next += period`, never `sleep(period - spent)`, so small delays
do not accumulate into drift. When a step overruns by whole periods, those deadlines are counted
as missed and skipped rather than run back to back.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Protocol


class Clock(Protocol):
    """Where the control loop gets its time: a reading and a sleep to an absolute time."""

    def now(self) -> float:
        """Seconds on a monotonic scale."""
        ...

    def sleep_until(self, t: float) -> None:
        """Return at `now() >= t` (at once when that has passed)."""
        ...


class MonotonicClock:
    """The real clock: `time.monotonic` and `time.sleep`."""

    def now(self) -> float:
        return time.monotonic()

    def sleep_until(self, t: float) -> None:
        remaining = t - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)


class Deadlines:
    def __init__(self, period_s: float, clock: Clock):
        self.period_s = period_s
        self._clock = clock
        self.next = clock.now()
        self.missed = 0

    def restart(self) -> None:
        """Start a fresh timeline now (after a deliberate pause between phases, not counted)."""
        self.next = self._clock.now()

    def wait(self) -> float:
        """Sleep until the next deadline; return how late we woke up (seconds, >= 0)."""
        self._clock.sleep_until(self.next)
        return max(0.0, self._clock.now() - self.next)

    def advance(self) -> None:
        """Move to the following deadline, skipping (and counting) any already passed."""
        self.next += self.period_s
        behind = self._clock.now() - self.next
        if behind > self.period_s:
            skipped = int(behind // self.period_s)
            self.missed += skipped
            self.next += skipped * self.period_s


class Window:
    """The last `size` values of a series, for sparklines and percentiles."""

    def __init__(self, size: int = 120):
        self._values: deque[float] = deque(maxlen=size)

    def add(self, value: float) -> None:
        self._values.append(value)

    def values(self) -> tuple[float, ...]:
        return tuple(self._values)
