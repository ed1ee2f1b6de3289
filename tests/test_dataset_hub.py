"""Hub upload and its pre-flight check.

The Hugging Face Hub's servers cannot be reached here, so `FakeHub` stands in for
`huggingface_hub.HfApi` — the only mock in these tests. It keeps what a real upload would send:
the files `upload_folder` would pick (resolved with huggingface_hub's own pattern filter), the
dataset card, the tags; and it can fail on demand or play an account without rights.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from dataset_support import record_episode, so_features
from huggingface_hub.utils import filter_repo_objects

from core.commands import push as push_command
from core.dataset import DatasetRecorder, check_hub, push_dataset
from core.dataset.hub import HubUploadError
from hardware.errors import ConfigError

CAMERAS = {"front": (48, 64, 3)}


class _Unauthorized(Exception):
    response = type("Response", (), {"status_code": 401})()


class FakeHub:
    def __init__(self, user="alice", role="write", orgs=(), token=True, fail_upload=False):
        self.user, self.role, self.orgs, self.token = user, role, list(orgs), token
        self.fail_upload = fail_upload
        self.repos: dict[str, dict] = {}
        self.files: dict[str, dict[str, str]] = {}
        self.contents: dict[str, dict[str, bytes]] = {}  # what each file's upload sent
        self.tags: dict[str, list[str]] = {}
        self.card = ""

    def whoami(self):
        if not self.token:
            from huggingface_hub.errors import LocalTokenNotFoundError

            raise LocalTokenNotFoundError("Token is required")
        if self.token == "revoked":
            raise _Unauthorized("401 Client Error: Unauthorized")
        return {
            "name": self.user,
            "orgs": [{"name": n, "roleInOrg": r} for n, r in self.orgs],
            "auth": {"accessToken": {"role": self.role}},
        }

    def create_repo(self, repo_id, repo_type=None, private=None, exist_ok=False):
        assert repo_type == "dataset"
        self.repos.setdefault(repo_id, {"private": private})

    def upload_folder(self, *, repo_id, folder_path, repo_type, ignore_patterns, **kwargs):
        assert repo_type == "dataset" and repo_id in self.repos
        if self.fail_upload:
            raise ConnectionError("connection reset by peer")
        root = Path(folder_path)
        paths = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]
        kept = list(filter_repo_objects(paths, ignore_patterns=ignore_patterns))
        self.files[repo_id] = {p: hashlib.sha256((root / p).read_bytes()).hexdigest() for p in kept}
        self.contents[repo_id] = {p: (root / p).read_bytes() for p in kept}

    def stored(self, repo_id: str, where: Path) -> Path:
        """The repo as the Hub would hold it after the last upload, written out under `where`."""
        for name, data in self.contents[repo_id].items():
            (where / name).parent.mkdir(parents=True, exist_ok=True)
            (where / name).write_bytes(data)
        return where

    def upload_file(self, *, path_or_fileobj, path_in_repo, repo_id, repo_type, **kwargs):
        assert path_in_repo == "README.md" and repo_type == "dataset"
        self.card = path_or_fileobj.decode()

    def delete_tag(self, repo_id, *, tag, repo_type=None):
        if tag not in self.tags.get(repo_id, []):
            raise KeyError(tag)
        self.tags[repo_id].remove(tag)

    def create_tag(self, repo_id, *, tag, repo_type=None, **kwargs):
        self.tags.setdefault(repo_id, []).append(tag)


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "ds"
    recorder = DatasetRecorder.create(root, "alice/pick", 30, "so_follower", so_features(CAMERAS))
    record_episode(recorder, 0, 8, "task", CAMERAS)
    recorder.save_episode().wait(30)
    recorder.close()
    (root / "images/front").mkdir(parents=True)  # lerobot's scratch folder, never uploaded
    (root / "images/front/frame-000000.png").write_bytes(b"png")
    (root / ".lerecord").mkdir(exist_ok=True)
    (root / ".lerecord/leftover").write_bytes(b"x")
    return root


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def test_push_uploads_the_dataset_without_scratch_files_then_tags_v3(dataset):
    hub = FakeHub()
    url = push_dataset(dataset, "alice/pick", private=True, tags=["so101", "cube"], api=hub)
    assert url == "https://huggingface.co/datasets/alice/pick"
    assert hub.repos == {"alice/pick": {"private": True}}
    uploaded = hub.files["alice/pick"]
    local = _digests(dataset)
    assert set(uploaded) == {p for p in local if not p.startswith(("images/", ".lerecord/"))}
    assert (
        "meta/info.json" in uploaded
        and "videos/observation.images.front/chunk-000/file-000.mp4" in uploaded
    )
    assert all(uploaded[p] == local[p] for p in uploaded)
    assert hub.tags["alice/pick"] == ["v3.0"]
    front_matter = hub.card.split("---")[1]
    assert "- LeRobot" in front_matter and '- "so101"' in front_matter
    assert "task_categories:\n- robotics" in front_matter
    assert "data_files: data/*/*.parquet" in front_matter
    push_dataset(dataset, "alice/pick", api=hub)  # pushing again moves the tag
    assert hub.tags["alice/pick"] == ["v3.0"]


def test_a_failed_upload_leaves_the_dataset_intact_and_says_how_to_retry(dataset):
    before = _digests(dataset)
    with pytest.raises(HubUploadError) as error:
        push_dataset(dataset, "alice/pick", api=FakeHub(fail_upload=True))
    message = str(error.value)
    assert "connection reset" in message
    assert f"retry with: lerecord push alice/pick --root {dataset}" in message
    assert _digests(dataset) == before


def test_lerecord_push_retries_the_upload(dataset, capsys):
    hub = FakeHub()
    assert push_command.main(["alice/pick", "--root", str(dataset), "--tags", "a,b"], api=hub) == 0
    assert "huggingface.co/datasets/alice/pick" in capsys.readouterr().out
    assert hub.tags["alice/pick"] == ["v3.0"]
    failing = FakeHub(fail_upload=True)
    assert push_command.main(["alice/pick", "--root", str(dataset)], api=failing) == 1
    assert "lerecord push alice/pick" in capsys.readouterr().err


@pytest.mark.parametrize(
    "hub, repo_id, message",
    [
        (FakeHub(token=False), "alice/pick", "no Hugging Face token found: run `hf auth login`"),
        (FakeHub(token="revoked"), "alice/pick", "the Hugging Face token is invalid: run"),
        (FakeHub(role="read"), "alice/pick", "is read-only"),
        (FakeHub(), "pick", "must be '<user or org>/<name>'"),
        (FakeHub(), "alice/pick cube", "is not a valid Hub repo id"),
        (FakeHub(), "bob/pick", "alice cannot write to 'bob'"),
        (FakeHub(orgs=[("lab", "read")]), "lab/pick", "has the role 'read' in 'lab'"),
    ],
)
def test_preflight_errors_name_the_fix_in_one_line(hub, repo_id, message):
    with pytest.raises(ConfigError) as error:
        check_hub(repo_id, api=hub)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_preflight_accepts_a_writable_repo():
    assert check_hub("alice/pick", api=FakeHub()) == "alice"
    assert check_hub("lab/pick", api=FakeHub(orgs=[("lab", "write")])) == "alice"


def test_push_without_a_dataset_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no dataset at"):
        push_dataset(tmp_path / "missing", "alice/pick", api=FakeHub())
