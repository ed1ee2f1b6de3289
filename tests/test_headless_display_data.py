"""`--display_data=true` in headless mode: the snapshots the headless loop polls go to Rerun.

The Rerun viewer cannot run here, so the second test puts a stand-in `rerun` module (the only
mock) in `sys.modules`; it keeps what it is given. The session itself is real (emulated arm,
leader and sim camera).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import io
import sys
import types

import numpy as np
import pytest
from session_support import sim_args

from core.config import parse_record_args
from core.headless import run_headless
from core.rerun_stream import MISSING_NOTE


def _config(tmp_path, display: bool):
    flags = sim_args(tmp_path / "ds", f"--display_data={str(display).lower()}", episodes=1)
    return parse_record_args([*flags, "--dataset.episode_time_s=0.6", "--dataset.reset_time_s=0"])


@pytest.mark.skipif(importlib.util.find_spec("rerun") is not None, reason="rerun-sdk is installed")
def test_without_rerun_sdk_one_line_says_so_and_the_session_records(tmp_path):
    out = io.StringIO()
    assert run_headless(_config(tmp_path, True), out=out) == 0
    text = out.getvalue()
    assert text.count(MISSING_NOTE) == 1
    assert "Episode 0 saved" in text


def _stand_in_rerun() -> types.ModuleType:
    rr = types.ModuleType("rerun")
    rr.__spec__ = importlib.machinery.ModuleSpec("rerun", None)
    rr.logged, rr.inits, rr.time = [], [], {}

    def init(name, spawn=False):
        rr.inits.append((name, spawn))

    def set_time(timeline, sequence):
        rr.time[timeline] = sequence

    def log(path, value):
        rr.logged.append((rr.time.get("step"), path, value))

    rr.init, rr.set_time, rr.log = init, set_time, log
    rr.Scalars = lambda value: ("scalar", float(value))
    rr.Image = lambda image: ("image", np.array(image))
    return rr


def test_snapshots_are_logged_to_rerun(tmp_path, monkeypatch):
    rr = _stand_in_rerun()
    monkeypatch.setitem(sys.modules, "rerun", rr)
    out = io.StringIO()
    assert run_headless(_config(tmp_path, True), out=out) == 0
    assert MISSING_NOTE not in out.getvalue()
    assert rr.inits == [("lerecord/local/session_test", True)]
    steps = [step for step, _, _ in rr.logged]
    assert steps == sorted(steps) and len(set(steps)) >= 3  # several snapshots, in step order
    paths = {path for _, path, _ in rr.logged}
    assert {"action/shoulder_pan.pos", "observation/shoulder_pan.pos"} <= paths
    images = [value[1] for _, path, value in rr.logged if path == "observation/images/front"]
    assert images and images[-1].ndim == 3 and images[-1].shape[2] == 3
    assert images[-1].std() > 0  # the sim camera's picture of the arm, not a blank
    scalars = [v[1] for _, p, v in rr.logged if p == "observation/shoulder_pan.pos"]
    assert all(np.isfinite(scalars))


def test_without_the_flag_nothing_is_streamed(tmp_path, monkeypatch):
    rr = _stand_in_rerun()
    monkeypatch.setitem(sys.modules, "rerun", rr)
    assert run_headless(_config(tmp_path, False), out=io.StringIO()) == 0
    assert rr.inits == [] and rr.logged == []
