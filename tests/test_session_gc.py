"""While a session's control thread runs, what was set up before it (modules, devices, a policy)
is outside the garbage collector's view: a full collection over it would hold the GIL for tens
to hundreds of milliseconds, whichever thread's allocation set it off."""

import gc

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
