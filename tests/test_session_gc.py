"""While a session's control thread runs, what was set up before it (modules, devices, a policy)
is outside the garbage collector's view: a full collection over it would hold the GIL for tens
to hundreds of milliseconds, whichever thread's allocation set it off."""

import gc
import subprocess
import sys
from pathlib import Path

from session_support import finish, start_session, wait_for

from core import messages as m


def test_the_setup_is_frozen_while_the_session_runs_and_released_after(tmp_path):
    before = gc.get_freeze_count()
    session = start_session(tmp_path / "ds", episodes=1, seconds=0.5)
    seen: list = []
    try:
        wait_for(session, m.EpisodeStarted, seen)
        frozen = gc.get_freeze_count()
        assert frozen > before + 10_000  # the modules and devices set up for the session
        ended = finish(session, seen)
    finally:
        session.close()
    assert ended.reason == "completed" and ended.episodes_saved == 1
    assert gc.get_freeze_count() == before


FRESH_SESSION = """
import gc, sys
sys.path.insert(0, {tests!r})
from session_support import finish, start_session, wait_for
from core import messages as m
session = start_session(__import__("pathlib").Path({root!r}), episodes=3, seconds=0.5)
seen = []
before = set(sys.modules)
wait_for(session, m.EpisodeSaved, seen)
wait_for(session, m.EpisodeSaved, seen)
print(sorted(set(sys.modules) - before), gc.get_freeze_count(), len(gc.get_objects(generation=2)))
finish(session, seen)
"""


def test_the_first_saves_import_nothing_and_leave_the_collector_little_to_walk(tmp_path):
    # in a fresh interpreter, as a user's session starts: what the saves need the first time
    # (pyarrow imports pandas at its first array, 40 000 objects) is loaded before the freeze;
    # looked at after two saves, while a third episode still runs (the end unfreezes)
    code = FRESH_SESSION.format(tests=str(Path(__file__).parent), root=str(tmp_path / "ds"))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout.split("\n")[0]
    imported, frozen, walked = out.rsplit(" ", 2)
    assert int(frozen) > 10_000  # seen while the third episode runs, before the session's end
    assert imported == "[]"
    assert int(walked) < 5_000  # the unfrozen oldest generation: what a full collection walks
