"""`lerecord score <repo_id> [--root PATH]`: the outcomes of a dataset's episodes and its success
rate with a 95 % Wilson interval (from the episodes metadata lerecord writes, or from lerobot's
`next.success` frames in a dataset lerobot-eval wrote)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from core.config.help import command_help
from core.dataset.layout import INFO_PATH, default_root
from core.dataset.outcomes import read_outcomes
from core.score import Score
from hardware.errors import ConfigError
from hardware.option import option

SUMMARY = "print a dataset's episode outcomes and its success rate (95% Wilson interval)"
USAGE = "lerecord score REPO_ID [--root=PATH]"


@dataclass(kw_only=True)
class DatasetFlags:
    """The flag of the commands that work on a recorded dataset (also `--dataset.root`)."""

    root: str | None = option(
        None, help="the dataset's folder; default ~/.cache/huggingface/lerobot/<repo_id>"
    )


def help(argv: list[str]) -> str:
    return command_help(USAGE, SUMMARY, DatasetFlags)


def dataset_root(repo_id: str, root: str | None) -> Path:
    """The dataset's folder; ConfigError when it holds no dataset."""
    folder = Path(root).expanduser() if root else default_root(repo_id)
    if not (folder / INFO_PATH).exists():
        raise ConfigError(
            f"no dataset at {folder} (no {INFO_PATH}); give --root=<folder> of a recorded dataset"
        )
    return folder


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lerecord score", description=__doc__.split("\n")[0])
    parser.add_argument("repo_id")
    parser.add_argument("--root", "--dataset.root", dest="root", default=None)
    args = parser.parse_args(argv)
    outcomes = read_outcomes(dataset_root(args.repo_id, args.root))
    lines = [f"{args.repo_id}: {len(outcomes)} episodes"]
    for name in ("success", "failure", None):
        episodes = [str(i) for i, outcome in outcomes.items() if outcome == name]
        if episodes:
            lines.append(f"  {name or 'not marked'}: {', '.join(episodes)}")
    lines.append(f"Score: {Score.of(outcomes.values()).summary()}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
