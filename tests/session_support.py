"""Shared by the session tests: a short session on the emulated SO-101 arm, leader and camera."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from core import messages as m
from core.config import parse_record_args
from core.session import Session

ROOT = Path(__file__).resolve().parents[1]


def sim_args(root: Path, *extra: str, episodes: int = 2, seconds: float = 1.0) -> list[str]:
    return [
        "--robot.type=so101_follower",
        "--robot.port=sim",
        "--robot.id=test_follower",
        '--robot.cameras={"front": {"type": "sim", "width": 64, "height": 48, "fps": 30}}',
        "--teleop.type=so101_leader",
        "--teleop.port=sim",
        "--teleop.id=test_leader",
        "--dataset.repo_id=local/session_test",
        "--dataset.no_stamp=true",
        f"--dataset.root={root}",
        "--dataset.single_task=Pick up the cube",
        f"--dataset.num_episodes={episodes}",
        f"--dataset.episode_time_s={seconds}",
        "--dataset.reset_time_s=0.3",
        "--dataset.vcodec=h264",
        "--dataset.push_to_hub=false",
        "--play_sounds=false",
        *extra,
    ]


def start_session(root: Path, *extra: str, **kw) -> Session:
    session = Session(parse_record_args(sim_args(root, *extra, **kw)))
    session.start()
    return session


def _pending(session: Session) -> list:
    """Events drained from the session but not yet looked at by `wait_for`."""
    return session.__dict__.setdefault("_test_pending_events", [])


def wait_for(session: Session, kind: type, seen: list, timeout: float = 20.0):
    """Move events into `seen`, in order, until one of `kind` arrives; return it."""
    pending = _pending(session)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        while pending:
            event = pending.pop(0)
            seen.append(event)
            if isinstance(event, kind):
                return event
        pending.extend(session.events())
        if not pending:
            time.sleep(0.01)
    raise AssertionError(f"no {kind.__name__} within {timeout}s; saw {seen}")


def finish(session: Session, seen: list, timeout: float = 30.0) -> m.SessionEnded:
    assert session.wait(timeout), "session did not end"
    session.close()
    pending = _pending(session)
    seen.extend(pending + session.events())
    pending.clear()
    ended = [e for e in seen if isinstance(e, m.SessionEnded)]
    assert len(ended) == 1
    return ended[0]


def lerecord(*args: str, **kw) -> subprocess.Popen:
    """The real command line, run from this checkout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", *args],
        cwd=kw.pop("cwd", ROOT),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )
