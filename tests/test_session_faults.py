"""Faults on the emulators, end to end: the session always ends, within a deadline, with the
saved episodes loadable, the motors safe (or the user told), and the exit code saying what
happened (0 completed, 1 device or disk failure, 128+N for signal N).

The only injected failures that are not a real device's are the worker crash (the encoder's
write is replaced by one that raises, as a bug in it would) and the file-size limit (`ulimit -f`,
a filesystem that really refuses writes)."""

from __future__ import annotations

import json
import resource
import signal
import time
from pathlib import Path

import pytest
from camera_clips import write_clip
from dataset_support import check_loadable
from session_support import finish, lerecord, sim_args, start_session, wait_for

from core import messages as m
from core.console import format_event
from core.dataset import camera_worker
from tui.components.event_log import describe

DEADLINE_S = 30.0


def _opencv_clip_args(root: Path, clip: Path, **kw) -> list[str]:
    args = sim_args(root, **kw)
    camera = json.dumps({"front": {"type": "opencv", "index_or_path": str(clip)}})
    return [
        a if not a.startswith("--robot.cameras=") else f"--robot.cameras={camera}" for a in args
    ]


def test_an_opencv_camera_without_a_size_records_at_the_size_it_gives(tmp_path):
    """The seed documentation's `{"type": "opencv", "index_or_path": 0}`: no width/height."""
    clip = write_clip(tmp_path / "clip.mp4", frames=6, width=80, height=60)
    root = tmp_path / "ds"
    proc = lerecord("record", "--headless", *_opencv_clip_args(root, clip, episodes=1, seconds=0.5))
    out, err = proc.communicate(timeout=DEADLINE_S)
    assert proc.returncode == 0, err
    info = check_loadable(root)
    assert info["features"]["observation.images.front"]["shape"] == [60, 80, 3]
    assert info["total_episodes"] == 1


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_an_encoder_that_dies_ends_the_session_with_its_error(tmp_path, monkeypatch):
    seen: list = []
    session = start_session(tmp_path / "ds", episodes=3, seconds=0.5)
    wait_for(session, m.EpisodeSaved, seen)

    def broken_write(self, index, image):
        raise SystemExit("encoder bug")  # not an Exception: the worker thread ends

    monkeypatch.setattr(camera_worker._Take, "write", broken_write)
    ended = finish(session, seen, timeout=DEADLINE_S)
    assert ended.reason == "error" and "encoder thread ended" in ended.error
    assert ended.episodes_saved == 1
    assert check_loadable(tmp_path / "ds")["total_episodes"] == 1
    robot = session.devices  # closed: devices released
    assert robot is not None and not robot.connected


def _limit_file_size(limit: int):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_disk_that_refuses_writes_stops_at_the_first_failed_save(tmp_path):
    """A file-size limit (`ulimit -f`): the videos grow with each episode until a write fails."""
    root = tmp_path / "ds"
    probe = lerecord("record", "--headless", *sim_args(tmp_path / "probe", episodes=1))
    assert probe.wait(DEADLINE_S) == 0
    files = [p for p in (tmp_path / "probe").rglob("*") if p.is_file()]
    limit = int(max(p.stat().st_size for p in files) * 2.5)  # the largest file, twice, not 6x
    proc = lerecord(
        "record", "--headless", *sim_args(root, episodes=6), preexec_fn=_limit_file_size(limit)
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, out + err
    assert "could not be saved" in out and "recording stops" in out
    assert "free on the disk" in out  # how much space there is, and what an episode needs
    saved = check_loadable(root)["total_episodes"]
    assert 1 <= saved < 6
    assert "Recording episode 5" not in out


def _catches_sigterm(pid: int) -> bool:
    """Whether the process has its own SIGTERM handler yet (/proc's caught-signals mask)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:"))[7:], 16)
    return bool(caught >> (signal.SIGTERM - 1) & 1)


def _has_children(pid: int) -> bool:
    """The sim arms' emulators are child processes: started when the devices connect."""
    return bool(Path(f"/proc/{pid}/task/{pid}/children").read_text().split())


def _wait(condition, proc, timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.005)


@pytest.mark.parametrize(
    "signame, after",
    [
        ("SIGTERM", "handlers"),
        ("SIGINT", "connecting"),
        ("SIGHUP", "connecting"),
        ("SIGTERM", "running"),
    ],
)
def test_a_signal_at_each_startup_stage_ends_cleanly(tmp_path, signame, after):
    """`handlers`: just after lerecord took the signals (flags parsed next, devices built);
    `connecting`: the arms' emulators are starting; `running`: the first episode runs. Each
    ends with 128+N, the motors off, nothing half-made left (a plain rerun works)."""
    root = tmp_path / "ds"
    proc = lerecord("record", "--headless", *sim_args(root, episodes=3, seconds=1.0))
    if after == "handlers":
        _wait(lambda: _catches_sigterm(proc.pid), proc)
    elif after == "connecting":
        _wait(lambda: _has_children(proc.pid), proc)
    else:
        line = ""
        while "Recording episode 0" not in line:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
    proc.send_signal(getattr(signal, signame))
    out, err = proc.communicate(timeout=DEADLINE_S)
    assert proc.returncode == 128 + getattr(signal, signame), (proc.returncode, err)
    assert "Traceback" not in err
    rerun = lerecord("record", "--headless", *sim_args(root, episodes=1, seconds=0.3))
    rerun_out, rerun_err = rerun.communicate(timeout=DEADLINE_S)
    assert rerun.returncode == 0, rerun_err
    assert check_loadable(root)["total_episodes"] == 1
    assert not (root / ".lerecord").exists()  # the lock went with the session


def test_a_servo_that_goes_silent_ends_the_session_and_says_torque_may_be_on(tmp_path):
    seen: list = []
    session = start_session(tmp_path / "ds", episodes=3, seconds=1.0)
    wait_for(session, m.EpisodeSaved, seen)
    session.devices.robot.link.fault("silent 3")
    ended = finish(session, seen, timeout=DEADLINE_S)
    assert ended.reason == "error" and "stopped answering" in ended.error
    warnings = [e.message for e in seen if isinstance(e, m.WarningRaised)]
    torque = [w for w in warnings if "torque may still be on" in w]
    assert torque == ["torque may still be on for elbow_flex (id 3): switch the arm's power off"], (
        warnings
    )
    assert check_loadable(tmp_path / "ds")["total_episodes"] == 1


def test_a_servo_silent_for_a_moment_is_named_at_once_and_the_session_goes_on(tmp_path):
    """0.2 s of silence is shorter than the bus's retries: the read recovers, and the operator is
    told which servo missed its answer (headless and console lines), in the episode it happened."""
    seen: list = []
    session = start_session(tmp_path / "ds", episodes=2, seconds=1.0)
    wait_for(session, m.EpisodeStarted, seen)
    link = session.devices.robot.link
    link.fault("silent 3")
    time.sleep(0.2)
    link.fault("clear")
    fault = wait_for(session, m.DeviceFault, seen)
    ended = finish(session, seen, timeout=DEADLINE_S)
    assert fault.recovered and "elbow_flex (id 3)" in fault.message, fault
    assert "did not answer" in fault.message and "answered on try" in fault.message
    said = format_event(fault)
    assert said is not None and "elbow_flex (id 3)" in said and "(recovered)" in said
    assert "elbow_flex (id 3)" in describe(fault)[1]
    episode_started = [e.at for e in seen if isinstance(e, m.EpisodeStarted)]
    assert episode_started[0] < fault.at < episode_started[1]  # said while it happened
    assert ended.reason == "completed" and ended.episodes_saved == 2
    assert check_loadable(tmp_path / "ds")["total_episodes"] == 2


def _bytes_under(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_the_disk_running_low_is_said_after_the_save_that_leaves_too_little(tmp_path):
    """Issue 11's early warning, end to end. A small filesystem cannot be mounted here, so the
    recorder's disk-space probe is a quota over the real bytes under the dataset: room for about
    1.5 episodes more, by the recorder's own estimate from the episode saved first."""
    seen: list = []
    root = tmp_path / "ds"
    session = start_session(root, episodes=3, seconds=1.0)
    wait_for(session, m.EpisodeSaved, seen)
    recorder = session.parts.recorder
    assert recorder.episode_bytes > 0
    assert not [e for e in seen if isinstance(e, m.WarningRaised)]  # a real disk with room
    quota = _bytes_under(root) + recorder.episode_bytes * 3 // 2
    recorder.free_bytes = lambda where: max(0, quota - _bytes_under(where))
    warning = wait_for(session, m.WarningRaised, seen)
    saved = [e.episode_index for e in seen if isinstance(e, m.EpisodeSaved)]
    assert saved == [0, 1]  # said right after the save that left too little room
    assert "free on the disk of" in warning.message and str(root) in warning.message
    assert "the next episode needs about" in warning.message and "--resume=true" in warning.message
    said = format_event(warning)
    assert said is not None and "free on the disk" in said
    ended = finish(session, seen, timeout=DEADLINE_S)
    assert ended.episodes_saved == 3  # a warning: nothing stops (the probe is not the disk)
    assert check_loadable(root)["total_episodes"] == 3


def test_a_stop_before_the_first_save_leaves_no_folder(tmp_path):
    seen: list = []
    root = tmp_path / "ds"
    session = start_session(root, episodes=2, seconds=5.0)
    wait_for(session, m.EpisodeStarted, seen)
    session.send(m.Stop(save_current=False))
    ended = finish(session, seen)
    assert ended.episodes_saved == 0
    assert not root.exists()


@pytest.mark.parametrize(
    "fault, said",
    [
        ("overheat 3", "reports a servo fault"),
        ("overload 2", "reports a servo fault"),
        ("camera", "lost a camera"),
    ],
)
def test_a_fault_that_is_not_silence_is_not_called_silence(tmp_path, fault, said):
    seen: list = []
    session = start_session(tmp_path / "ds", episodes=3, seconds=1.0)
    wait_for(session, m.EpisodeSaved, seen)
    if fault == "camera":
        session.devices.robot.cameras["front"].unplug()
    else:
        session.devices.robot.link.fault(fault)
    ended = finish(session, seen, timeout=DEADLINE_S)
    assert ended.reason == "error" and said in ended.error, ended.error
    assert "stopped answering" not in ended.error
    assert check_loadable(tmp_path / "ds")["total_episodes"] >= 1


def test_a_servo_that_answers_again_while_the_session_closes_gets_its_torque_off(tmp_path):
    """Silent long enough to end the session, back within the closing's grace: torque off is
    confirmed by every servo, so no warning is needed."""
    seen: list = []
    session = start_session(tmp_path / "ds", episodes=3, seconds=1.0)
    wait_for(session, m.EpisodeSaved, seen)
    link = session.devices.robot.link
    link.fault("silent 3")
    wait_for(session, m.DeviceFault, seen)
    time.sleep(3.0)  # the session gave up on the arm; a first torque-off pass has failed
    link.fault("clear")
    ended = finish(session, seen, timeout=DEADLINE_S)
    assert ended.reason == "error"
    warnings = [e.message for e in seen if isinstance(e, m.WarningRaised)]
    assert not [w for w in warnings if "torque may still be on" in w], warnings


def test_an_unplugged_bus_ends_the_session_and_says_the_arm_may_be_powered(tmp_path):
    seen: list = []
    session = start_session(tmp_path / "ds", episodes=3, seconds=1.0)
    wait_for(session, m.EpisodeSaved, seen)
    session.devices.robot.link.fault("unplug")
    ended = finish(session, seen, timeout=DEADLINE_S)
    assert ended.reason == "error" and "lost the servo bus" in ended.error
    warnings = [e.message for e in seen if isinstance(e, m.WarningRaised)]
    torque = [w for w in warnings if "torque may still be on" in w]
    assert len(torque) == 1 and "gripper (id 6)" in torque[0] and "power off" in torque[0]
    assert check_loadable(tmp_path / "ds")["total_episodes"] >= 1


def test_a_few_corrupt_replies_are_retried_and_the_session_goes_on(tmp_path):
    seen: list = []
    session = start_session(tmp_path / "ds", episodes=2, seconds=1.0)
    wait_for(session, m.EpisodeStarted, seen)
    session.devices.robot.link.fault("corrupt 3 2")
    ended = finish(session, seen, timeout=DEADLINE_S)
    assert ended.reason == "completed" and ended.episodes_saved == 2
    assert check_loadable(tmp_path / "ds")["total_episodes"] == 2


def test_a_short_camera_outage_is_said_not_left_as_silent_identical_frames(tmp_path):
    seen: list = []
    session = start_session(tmp_path / "ds", episodes=1, seconds=2.0)
    wait_for(session, m.EpisodeStarted, seen)
    camera = session.devices.robot.cameras["front"]
    time.sleep(0.5)
    camera.unplug()
    time.sleep(0.5)  # shorter than the 1 s after which the camera counts as lost
    camera.replug()
    ended = finish(session, seen, timeout=DEADLINE_S)
    assert ended.reason == "completed"
    warnings = [e.message for e in seen if isinstance(e, m.WarningRaised)]
    assert any("camera front repeated one picture" in w for w in warnings), warnings
