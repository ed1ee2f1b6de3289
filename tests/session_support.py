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


_unread: dict[int, list] = {}  # per session: events drained but not yet looked at


def wait_for(session: Session, kind: type, seen: list, timeout: float = 20.0):
    """Collect events into `seen` until one of `kind` arrives; return it. Events drained after
    it in the same batch are kept for the next call."""
    unread = _unread.setdefault(id(session), [])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        unread.extend(session.events())
        while unread:
            event = unread.pop(0)
            seen.append(event)
            if isinstance(event, kind):
                return event
        time.sleep(0.01)
    raise AssertionError(f"no {kind.__name__} within {timeout}s; saw {seen}")


def finish(session: Session, seen: list, timeout: float = 30.0) -> m.SessionEnded:
    assert session.wait(timeout), "session did not end"
    session.close()
    seen.extend(_unread.pop(id(session), []))
    seen.extend(session.events())
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
