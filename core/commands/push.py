"""`lerecord push <repo_id> [--root PATH] [--private=true] [--tags='["a","b"]']`: upload a
recorded dataset to the Hugging Face Hub (the retry after a failed upload at the end of a session).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.config.declared import settings
from core.config.help import command_help
from core.dataset.hub import HubUploadError, check_hub, push_dataset
from hardware.errors import ConfigError
from hardware.option import option

logger = logging.getLogger(__name__)
SUMMARY = "upload a recorded dataset to the Hugging Face Hub (the retry after a failed upload)"
USAGE = 'lerecord push REPO_ID [--root=PATH] [--private=true|false] [--tags=\'["a", "b"]\']'


@dataclass(kw_only=True)
class PushFlags:
    """`lerecord push`'s flags (each also spelled as in a session: `--dataset.root`)."""

    root: str | None = option(
        None, help="the dataset's folder; default ~/.cache/huggingface/lerobot/<repo_id>"
    )
    private: bool | None = option(
        None, help="make the repository private (none: the organisation's default)"
    )
    tags: list[str] | None = option(None, help="tags of the dataset: a JSON list or a,b,c")


def help(argv: list[str]) -> str:
    return command_help(USAGE, SUMMARY, PushFlags)


def _bool(value: str) -> bool:
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def _tags(value: str) -> list[str]:
    try:
        tags = json.loads(value)
    except ValueError:
        tags = [t.strip() for t in value.split(",") if t.strip()]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise argparse.ArgumentTypeError(f"expected a list of strings, got {value!r}")
    return tags


def main(argv: list[str], api=None) -> int:
    parser = argparse.ArgumentParser(prog="lerecord push", description=__doc__.split("\n")[0])
    parser.add_argument("repo_id")
    readers: dict[str, Callable[[str], Any]] = {"root": str, "private": _bool, "tags": _tags}
    for setting in settings(PushFlags):
        name = setting.flag
        parser.add_argument(
            f"--{name}", f"--dataset.{name}", dest=name, type=readers[name], default=setting.default
        )
    args = parser.parse_args(argv)
    check_hub(args.repo_id, args.private, api=api, recording=False)
    try:
        url = push_dataset(args.root, args.repo_id, args.private, args.tags, api=api)
    except HubUploadError as error:
        print(f"lerecord: error: {error}", file=sys.stderr)
        return 1
    except ConfigError:
        raise
    print(f"uploaded to {url}")
    return 0
