"""Keeping time in the control loop: absolute deadlines and recent-history windows.

The control thread sleeps until `next += period`, never `sleep(period - spent)`, so small delays
do not accumulate into drift. When a step overruns by whole periods, those deadlines are counted
as missed and skipped rather than run back to back.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class Deadlines:
    def __init__(
        self,
        period_s: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.period_s = period_s
        self._clock = clock
        self._sleep = sleep
        self.next = clock()
        self.missed = 0

    def restart(self) -> None:
        """Start a fresh timeline now (after a deliberate pause between phases, not counted)."""
        self.next = self._clock()

    def wait(self) -> float:
        """Sleep until the next deadline; return how late we woke up (seconds, >= 0)."""
        remaining = self.next - self._clock()
        if remaining > 0:
            self._sleep(remaining)
        return max(0.0, self._clock() - self.next)

    def advance(self) -> None:
        """Move to the following deadline, skipping (and counting) any already passed."""
        self.next += self.period_s
        behind = self._clock() - self.next
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
