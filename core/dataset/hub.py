"""Uploading a dataset to the Hugging Face Hub as lerobot does, and checking beforehand that it
can work: `check_hub` runs before recording starts, so a missing token or an unwritable repo is
reported in one line at once, not after an hour of recording.

`push_dataset` creates the dataset repo, uploads the folder without scratch files, writes the
dataset card (tags `LeRobot` + the user's, `task_categories: robotics`) and tags the revision
`v3.0`, which lerobot's loaders resolve. A failed upload leaves the local dataset as it was and
raises `HubUploadError` whose message says how to retry (`lerecord push <repo_id> --root …`).
`api` is a `huggingface_hub.HfApi` (or anything with the same methods); None makes one.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from core.dataset import commit
from core.dataset.layout import CODEBASE_VERSION, INFO_PATH, SCRATCH_DIR, default_root, read_json
from hardware.errors import ConfigError

logger = logging.getLogger(__name__)

LOGIN_HINT = "run `hf auth login` (or `huggingface-cli login`) or set HF_TOKEN"
IGNORE_PATTERNS = ["images/", "images/**", f"{SCRATCH_DIR}/**", "**/*.tmp"]
WRITE_ROLES = {"write", "admin", "contributor"}


class HubUploadError(RuntimeError):
    """The upload failed; the message names the cause and the command that retries it."""


def _api(api):
    if api is not None:
        return api
    from huggingface_hub import HfApi

    return HfApi()


def check_repo_id(repo_id: str) -> None:
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    if repo_id.count("/") != 1:
        raise ConfigError(
            f"--dataset.repo_id={repo_id!r} must be '<user or org>/<name>', e.g. alice/pick_cube"
        )
    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        raise ConfigError(
            f"--dataset.repo_id={repo_id!r} is not a valid Hub repo id; use letters, digits, "
            "'-', '_', '.' (e.g. alice/pick_cube)"
        ) from None


def check_hub(repo_id: str, private: bool | None = None, api=None, recording: bool = True) -> str:
    """Pre-flight for `--dataset.push_to_hub=true`: token, repo id and write access.

    Returns the user name. Raises ConfigError with the fix, in one line, on any problem
    (`recording`: the fixes include turning the upload off)."""
    check_repo_id(repo_id)
    api = _api(api)
    off = "or use --dataset.push_to_hub=false" if recording else "then retry"
    try:
        me = api.whoami()
    except Exception as error:
        name = type(error).__name__
        if name == "LocalTokenNotFoundError" or "token" in str(error).lower():
            raise ConfigError(f"no Hugging Face token found: {LOGIN_HINT}, {off}") from None
        status = getattr(getattr(error, "response", None), "status_code", None)
        if status == 401:
            raise ConfigError(f"the Hugging Face token is invalid: {LOGIN_HINT}, {off}") from None
        raise ConfigError(
            f"cannot reach the Hugging Face Hub to check the token ({name}); "
            f"check the network, {off}"
        ) from None
    user = me.get("name", "")
    role = me.get("auth", {}).get("accessToken", {}).get("role")
    if role == "read":
        raise ConfigError(
            f"the Hugging Face token of {user} is read-only; create a write token and "
            f"{LOGIN_HINT}, {off}"
        )
    namespace = repo_id.split("/")[0]
    orgs = {org.get("name"): org.get("roleInOrg") for org in me.get("orgs", [])}
    if role != "fineGrained" and namespace != user:
        if namespace not in orgs:
            raise ConfigError(
                f"{user} cannot write to {namespace!r} (not the user name nor one of its "
                f"organisations); use --dataset.repo_id={user}/{repo_id.split('/')[1]}"
            )
        if orgs[namespace] not in WRITE_ROLES and orgs[namespace] is not None:
            raise ConfigError(
                f"{user} has the role {orgs[namespace]!r} in {namespace!r} and cannot write there; "
                f"use --dataset.repo_id={user}/{repo_id.split('/')[1]}"
            )
    return user


def push_dataset(
    root: Path | str | None,
    repo_id: str,
    private: bool | None = None,
    tags: list[str] | None = None,
    api=None,
    license: str = "apache-2.0",
) -> str:
    """Upload the dataset at `root`; return its URL. HubUploadError (dataset intact) on failure."""
    root = Path(root) if root else default_root(repo_id)
    retry = f"lerecord push {repo_id} --root {root}"
    if not (root / INFO_PATH).exists():
        raise ConfigError(f"no dataset at {root} ({INFO_PATH} missing); check --root")
    claim = commit.lock(root)  # refuses while a session records into this folder
    try:
        commit.recover(root)
    finally:
        commit.unlock(root, claim)
    info = read_json(root / INFO_PATH)
    if info.get("total_episodes", 0) == 0:
        raise ConfigError(f"dataset {repo_id} at {root} has no episode; nothing to upload")
    api = _api(api)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(
            repo_id=repo_id,
            folder_path=str(root),
            repo_type="dataset",
            ignore_patterns=IGNORE_PATTERNS,
            commit_message=f"Upload {info['total_episodes']} episodes with lerecord",
        )
        api.upload_file(
            path_or_fileobj=dataset_card(info, tags, license).encode(),
            path_in_repo="README.md",
            repo_id=repo_id,
            repo_type="dataset",
            commit_message="Dataset card",
        )
        try:
            api.delete_tag(repo_id, tag=CODEBASE_VERSION, repo_type="dataset")
        except Exception:  # no such tag yet
            pass
        api.create_tag(repo_id, tag=CODEBASE_VERSION, repo_type="dataset")
    except Exception as error:
        logger.debug("upload failed", exc_info=True)
        raise HubUploadError(
            f"upload of {repo_id} failed ({type(error).__name__}: {error}); the dataset is "
            f"intact at {root}; retry with: {retry}"
        ) from error
    return f"https://huggingface.co/datasets/{repo_id}"


def dataset_card(info: dict, tags: list[str] | None, license: str | None) -> str:
    """README.md with the metadata lerobot's card carries (tags, task category, data files)."""
    lines = ["---"]
    if license:
        lines.append(f"license: {license}")
    lines += ["task_categories:", "- robotics", "tags:", "- LeRobot"]
    lines += [f"- {json.dumps(tag)}" for tag in (tags or []) if tag != "LeRobot"]
    lines += [
        "configs:",
        "- config_name: default",
        "  data_files: data/*/*.parquet",
        "---",
        "",
        "This dataset was recorded with lerecord in the "
        "[LeRobot](https://github.com/huggingface/lerobot) v3.0 format.",
        "",
        "## Dataset Structure",
        "",
        "[meta/info.json](meta/info.json):",
        "```json",
        json.dumps(info, indent=4),
        "```",
        "",
    ]
    return "\n".join(lines)
