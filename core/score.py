"""The score of a set of episodes: successes, failures, not marked, and the success rate with a
Wilson score interval (sound for few episodes and for rates near 0 or 1, unlike p ± z·σ)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

Z_95 = 1.959964  # two-sided 95 %


@dataclass(frozen=True)
class Score:
    successes: int = 0
    failures: int = 0
    unmarked: int = 0

    @classmethod
    def of(cls, outcomes: Iterable[str | None]) -> Score:
        marks = list(outcomes)
        return cls(marks.count("success"), marks.count("failure"), marks.count(None))

    @property
    def marked(self) -> int:
        return self.successes + self.failures

    @property
    def rate(self) -> float | None:
        """Successes over marked episodes; None when none is marked."""
        return self.successes / self.marked if self.marked else None

    def interval(self, z: float = Z_95) -> tuple[float, float] | None:
        """The Wilson score interval of the success rate; None when no episode is marked."""
        n = self.marked
        if n == 0:
            return None
        p = self.successes / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return max(0.0, centre - half), min(1.0, centre + half)

    def summary(self) -> str:
        """One line: "3 successes, 1 failure, 2 not marked: 75% success (95% CI 30–95%)"."""
        counts = (
            f"{_plural(self.successes, 'success', 'successes')}, "
            f"{_plural(self.failures, 'failure', 'failures')}, {self.unmarked} not marked"
        )
        interval = self.interval()
        if interval is None:
            return f"{counts}: no success rate yet"
        lo, hi = interval
        return f"{counts}: {self.rate:.0%} success (95% CI {lo * 100:.0f}–{hi:.0%})"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
