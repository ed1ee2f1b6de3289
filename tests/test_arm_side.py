"""The arm's side of the wire: the emulated follower notes when each goal position arrives, and
the session benchmark turns those times into the lateness of the steps around each boundary."""

import array
import time

import numpy as np

from bench.arm_side import StepMark, boundary_report, follower_writes
from hardware.feetech.bus import FeetechBus
from hardware.sim.arms import make_servos
from hardware.sim.bus_emulator import BusEmulator
from hardware.sim.process import EmulatorProcess
from hardware.so_arm.arm import so_motors

GOAL = dict.fromkeys(so_motors(True), 2048)


def _wait_for(emulator: BusEmulator, count: int) -> None:
    until = time.monotonic() + 2.0
    while len(emulator.sync_write_times) < count and time.monotonic() < until:
        time.sleep(0.005)


def test_each_sync_write_is_timed_when_it_arrives():
    with BusEmulator(make_servos("so101_follower"), keep_write_times=True) as emulator:
        bus = FeetechBus(emulator.port, so_motors(True))
        bus.connect()
        windows = []
        for _ in range(3):
            before = time.monotonic()
            bus.sync_write("Goal_Position", GOAL, normalize=False)
            _wait_for(emulator, len(windows) + 1)
            windows.append((before, time.monotonic()))
        bus.sync_read("Present_Position", normalize=False)  # a read is not a goal
        bus.disconnect()
        times = list(emulator.sync_write_times)
    assert len(times) == 3
    for t, (before, after) in zip(times, windows, strict=True):
        assert before <= t <= after


def test_an_emulator_that_is_not_asked_keeps_no_times():
    with BusEmulator(make_servos("so101_follower")) as emulator:
        bus = FeetechBus(emulator.port, so_motors(True))
        bus.connect()
        bus.sync_write("Goal_Position", GOAL, normalize=False)
        bus.sync_read("Present_Position", normalize=False)  # answered after the write
        bus.disconnect()
        assert len(emulator.sync_write_times) == 0


def test_an_emulator_process_writes_its_times_when_it_stops(tmp_path, monkeypatch):
    monkeypatch.setenv("LERECORD_SIM_WRITE_TIMES", str(tmp_path))  # as record_writes_in does
    process = EmulatorProcess("so101_follower")
    bus = FeetechBus(process.start(), so_motors(True))
    try:
        bus.connect()
        before = time.monotonic()
        for _ in range(4):
            bus.sync_write("Goal_Position", GOAL, normalize=False)
        bus.sync_read("Present_Position", normalize=False)
        after = time.monotonic()
        bus.disconnect()
    finally:
        process.stop()
    (path,) = tmp_path.glob("so101_follower-*.f64")
    times = array.array("d", path.read_bytes())
    assert len(times) == 4
    assert before <= min(times) <= max(times) <= after
    assert list(follower_writes(tmp_path)) == sorted(times)


def test_a_late_goal_at_a_boundary_is_found_there():
    period = 1 / 30
    marks = [
        StepMark(i * period, i * period, "recording" if i < 60 else "reset", "") for i in range(90)
    ]
    writes = np.array([m.deadline + 0.0005 for m in marks])
    writes[61] += 0.007  # the second reset step: the save was starting
    writes[30] += 0.001  # mid-episode, a small one
    report = boundary_report(marks, writes[np.arange(90) != 80])  # one goal never arrived
    assert abs(report["episode end/save/reset"] - 7.0) < 1e-6
    assert abs(report["session start"]) < 1e-6
    assert abs(report["elsewhere p99"] - 0.0) < 1.0
    assert report["goals lost"] == 1
