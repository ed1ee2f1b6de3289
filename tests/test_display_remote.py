"""`--display_ip` / `--display_port`: the session streams to a remote Rerun viewer at lerobot's
URL, pictures as JPEG; `--display_compressed_images` compresses for a local viewer too. No Rerun
viewer can run here: a stand-in `rerun` module (the only mock) keeps what it is given; the
session is real (emulated arm, leader and sim camera)."""

from __future__ import annotations

import importlib.machinery
import io
import sys
import types

import numpy as np
import pytest
from session_support import sim_args

from core.config import parse_record_args
from core.headless import run_headless
from hardware.errors import ConfigError


class _Image:
    def __init__(self, image):
        self.image, self.compressed = np.array(image), False

    def compress(self):
        self.compressed = True
        return self


def _stand_in_rerun() -> types.ModuleType:
    rr = types.ModuleType("rerun")
    rr.__spec__ = importlib.machinery.ModuleSpec("rerun", None)
    rr.calls, rr.logged = [], []
    rr.init = lambda name, spawn=False: rr.calls.append(("init", name, spawn))
    rr.connect_grpc = lambda url: rr.calls.append(("connect_grpc", url))
    rr.set_time = lambda timeline, sequence: None
    rr.log = lambda path, value: rr.logged.append((path, value))
    rr.Scalars = lambda value: float(value)
    rr.Image = _Image
    return rr


def _run(tmp_path, monkeypatch, *flags: str):
    rr = _stand_in_rerun()
    monkeypatch.setitem(sys.modules, "rerun", rr)
    args = sim_args(tmp_path / "ds", "--display_data=true", *flags, episodes=1)
    config = parse_record_args([*args, "--dataset.episode_time_s=0.6", "--dataset.reset_time_s=0"])
    assert run_headless(config, out=io.StringIO()) == 0
    pictures = [v for p, v in rr.logged if p == "observation/images/front"]
    assert pictures and all(p.image.ndim == 3 for p in pictures)
    return rr, pictures


def test_a_remote_viewer_gets_the_stream_at_lerobots_url_as_jpeg(tmp_path, monkeypatch):
    rr, pictures = _run(tmp_path, monkeypatch, "--display_ip=192.168.1.20", "--display_port=9876")
    assert rr.calls == [
        ("init", "lerecord/local/session_test", False),
        ("connect_grpc", "rerun+http://192.168.1.20:9876/proxy"),
    ]
    assert all(p.compressed for p in pictures)


def test_a_local_viewer_gets_raw_pictures_unless_compressed_is_asked(tmp_path, monkeypatch):
    rr, pictures = _run(tmp_path, monkeypatch)
    assert rr.calls == [("init", "lerecord/local/session_test", True)]
    assert not any(p.compressed for p in pictures)
    _, pictures = _run(tmp_path / "b", monkeypatch, "--display_compressed_images=true")
    assert all(p.compressed for p in pictures)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--display_ip=10.0.0.2"], "--display_ip and --display_port go together"),
        (["--display_mode=foxglove"], "--display_mode: foxglove is not in lerecord; use rerun"),
        (["--display_mode=web"], "--display_mode: got 'web'; expected one of rerun, foxglove"),
        (["--display_port=http"], "--display_port: got 'http'; expected a whole number"),
    ],
)
def test_bad_display_flags_are_one_line(tmp_path, flags, message):
    with pytest.raises(ConfigError) as error:
        parse_record_args(sim_args(tmp_path / "ds", *flags))
    assert str(error.value).startswith(message) and "\n" not in str(error.value)
