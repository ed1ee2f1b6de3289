"""A session with `--dataset.push_to_hub=true`: the Hub is checked before recording and the
dataset uploaded after it. `FakeHub` (see test_dataset_hub) stands in for the Hub's servers."""

from __future__ import annotations

import pytest
from dataset_support import check_loadable
from session_support import finish, sim_args
from test_dataset_hub import FakeHub

from core import messages as m
from core.config import parse_record_args
from core.session import Session
from hardware.errors import ConfigError


def _session(root, hub: FakeHub) -> Session:
    args = [a for a in sim_args(root, episodes=1, seconds=0.5) if "push_to_hub" not in a]
    args += ["--dataset.push_to_hub=true", "--dataset.repo_id=alice/session_push"]
    return Session(parse_record_args(args), hub_api=hub)


def test_the_recorded_dataset_is_uploaded_with_the_v3_tag(tmp_path):
    hub = FakeHub()
    session = _session(tmp_path / "ds", hub)
    session.start()
    seen: list = []
    finish(session, seen)
    (done,) = [e for e in seen if isinstance(e, m.UploadFinished)]
    assert done.url.endswith("alice/session_push")
    files = hub.files["alice/session_push"]
    assert "meta/info.json" in files and "data/chunk-000/file-000.parquet" in files
    assert any(p.startswith("videos/observation.images.front/") for p in files)
    assert not any(p.startswith(".lerecord") for p in files)
    assert hub.tags["alice/session_push"] == ["v3.0"]


def test_a_missing_token_is_refused_before_anything_starts(tmp_path):
    with pytest.raises(ConfigError, match="token"):
        _session(tmp_path / "ds", FakeHub(token=False)).start()
    assert not (tmp_path / "ds").exists()


def test_a_failed_upload_keeps_the_dataset_and_says_how_to_retry(tmp_path):
    session = _session(tmp_path / "ds", FakeHub(fail_upload=True))
    session.start()
    seen: list = []
    ended = finish(session, seen)
    (failed,) = [e for e in seen if isinstance(e, m.UploadFailed)]
    assert "lerecord push alice/session_push --root" in failed.message
    assert ended.episodes_saved == 1
    assert check_loadable(tmp_path / "ds")["total_episodes"] == 1
