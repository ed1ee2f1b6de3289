"""`lerecord review <repo_id> [--root PATH]`: browse a recorded dataset's episodes in the
terminal (camera frames, joint trajectories), relabel, delete and undo."""

from __future__ import annotations

import argparse

from core.commands.score import DatasetFlags, dataset_root
from core.config.help import command_help

SUMMARY = "browse a dataset's episodes: frames, joint plots; relabel, delete, undo"
USAGE = "lerecord review REPO_ID [--root=PATH]"


def help(argv: list[str]) -> str:
    return command_help(USAGE, SUMMARY, DatasetFlags, epilog=_keys())


def _keys() -> str:
    from tui.screens.review import __doc__ as doc

    return doc.split("\n\n", 1)[1]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lerecord review", description=SUMMARY)
    parser.add_argument("repo_id")
    parser.add_argument("--root", "--dataset.root", dest="root", default=None)
    args = parser.parse_args(argv)
    root = dataset_root(args.repo_id, args.root)
    from tui.review import run_review

    return run_review(root, args.repo_id)
