"""`lerecord push <repo_id> [--root PATH] [--private=true] [--tags='["a","b"]']`: upload a
recorded dataset to the Hugging Face Hub (the retry after a failed upload at the end of a session).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from core.dataset.hub import HubUploadError, check_hub, push_dataset
from hardware.errors import ConfigError

logger = logging.getLogger(__name__)


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
    parser.add_argument("--root", "--dataset.root", dest="root", default=None)
    parser.add_argument("--private", "--dataset.private", dest="private", type=_bool, default=None)
    parser.add_argument("--tags", "--dataset.tags", dest="tags", type=_tags, default=None)
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
