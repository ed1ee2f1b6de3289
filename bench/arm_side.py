"""Step lateness as the arm sees it: when each goal position arrived at the emulated follower.

The emulators that `port=sim` starts write the receive time of every SYNC_WRITE when they stop
(`LERECORD_SIM_WRITE_TIMES`, see `hardware.sim.serve`), on the system's monotonic clock, the
clock the control loop keeps its deadlines on. For each control step the arm-side delay is the
time from the step's deadline to the arrival of its goal; its lateness is that delay less the
session's median delay (the ordinary cost of a step: the observation read and the write). The
boundaries are where the tail was: a session's first steps, an episode's end (the save starts,
the reset begins), an episode's start, a re-record.
"""

from __future__ import annotations

import array
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hardware.sim.serve import WRITE_TIMES_DIR

AFTER, BEFORE = 5, 2  # steps after a boundary (and before it) that count as the boundary's


@dataclass(frozen=True)
class StepMark:
    deadline: float  # when the step should have started (monotonic seconds)
    start: float  # when it started
    phase: str
    event: str


def record_writes_in(folder: Path) -> None:
    """Have the emulators started from now on write their SYNC_WRITE times into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[WRITE_TIMES_DIR] = str(folder)


def follower_writes(folder: Path) -> np.ndarray:
    """The follower's SYNC_WRITE receive times, sorted (emulators write them when they stop)."""
    times = array.array("d")
    for path in sorted(folder.glob("*follower*.f64")):
        times.frombytes(path.read_bytes())
    return np.sort(np.frombuffer(times, dtype=np.float64)) if times else np.empty(0)


def arm_lateness_ms(marks: list[StepMark], writes: np.ndarray) -> np.ndarray:
    """Per step, ms from its deadline to its goal's arrival less the median of that; NaN for a
    step whose goal never arrived (the first write after its start, before the next start)."""
    deadlines = np.array([s.deadline for s in marks])
    starts = np.array([s.start for s in marks])
    nxt = np.append(starts[1:], np.inf)
    at = np.searchsorted(writes, starts)
    arrived = np.where(at < len(writes), writes[np.minimum(at, len(writes) - 1)], np.inf)
    delay = np.where(arrived < nxt, arrived - deadlines, np.nan) * 1e3
    return delay - np.nanmedian(delay)


def boundaries(marks: list[StepMark]) -> dict[str, list[int]]:
    """Indices of the first step after each boundary, by kind."""
    found: dict[str, list[int]] = {"session start": [0], "episode end/save/reset": []}
    found["episode start"], found["re-record"] = [], []
    for i in range(1, len(marks)):
        before, now = marks[i - 1], marks[i]
        if before.event == "rerecord":
            found["re-record"].append(i)
        elif before.phase == "recording" and now.phase == "reset":
            found["episode end/save/reset"].append(i)
        elif before.phase != "recording" and now.phase == "recording":
            found["episode start"].append(i)
    return found


def boundary_report(marks: list[StepMark], writes: np.ndarray) -> dict[str, float]:
    """The latest arm-side step around each kind of boundary (ms), and elsewhere."""
    late = arm_lateness_ms(marks, writes)
    near = np.zeros(len(marks), bool)
    report = {}
    for kind, starts in boundaries(marks).items():
        if not starts:
            continue
        picked = np.concatenate(
            [np.arange(max(0, i - BEFORE), min(len(marks), i + AFTER)) for i in starts]
        )
        near[picked] = True
        report[kind] = float(np.nanmax(late[picked]))
    rest = late[~near]
    report["elsewhere p99"] = float(np.nanpercentile(rest, 99)) if len(rest) else float("nan")
    report["goals lost"] = float(np.isnan(late).sum())
    return report
