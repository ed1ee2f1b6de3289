"""`lerecord edit <repo_id> [--root PATH] <operation>`: change a recorded dataset in place.

    delete --episodes 3,7              delete episodes, as lerobot-edit-dataset delete_episodes
    label --episode 3 --outcome success|failure|none
    task --episode 3 --task "Place the cube"
    undo                               put back what the last edit changed

Every edit goes through the crash-safe journal the recorder uses: a kill at any instant leaves
the old or the new dataset. A bad argument changes nothing and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys

from core.commands.score import DatasetFlags, dataset_root
from core.config.help import command_help
from core.dataset.outcomes import OUTCOMES
from core.dataset.prune import delete_episodes, relabel_episode, retask_episode, undo_last_edit
from hardware.errors import ConfigError

SUMMARY = "delete episodes (as lerobot-edit-dataset), relabel an outcome, edit a task, undo"
USAGE = (
    "lerecord edit REPO_ID [--root=PATH] delete --episodes=3,7\n"
    "       lerecord edit REPO_ID [--root=PATH] label --episode=3 --outcome=success|failure|none\n"
    '       lerecord edit REPO_ID [--root=PATH] task --episode=3 --task="Place the cube"\n'
    "       lerecord edit REPO_ID [--root=PATH] undo"
)

EPILOG = """delete --episodes=3,7 deletes episodes as lerobot-edit-dataset's delete_episodes
does (the others renumbered, stats recomputed, videos cut); label --episode=3
--outcome=success marks an outcome (none: not marked); task --episode=3 --task=TEXT gives an
episode another task; undo puts back what the last edit changed.

Every edit goes through the recorder's crash-safe journal: a kill at any instant leaves the old
or the new dataset. A bad argument changes nothing and exits with status 2."""


def help(argv: list[str]) -> str:
    return command_help(USAGE, SUMMARY, DatasetFlags, epilog=EPILOG)


def _episode_list(value: str) -> list[int]:
    try:
        episodes = [int(part) for part in value.replace(" ", "").strip("[]").split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected episode indices like 3,7, got {value!r}"
        ) from None
    return sorted(set(episodes))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lerecord edit", description=__doc__.split("\n")[0])
    parser.add_argument("repo_id")
    parser.add_argument("--root", "--dataset.root", dest="root", default=None)
    ops = parser.add_subparsers(dest="operation", required=True)
    delete = ops.add_parser("delete", help="delete episodes (renumbers the rest)")
    delete.add_argument("--episodes", "--episode_indices", type=_episode_list, required=True)
    label = ops.add_parser("label", help="mark an episode's outcome")
    label.add_argument("--episode", type=int, required=True)
    label.add_argument("--outcome", choices=[*OUTCOMES, "none"], required=True)
    task = ops.add_parser("task", help="give an episode another task")
    task.add_argument("--episode", type=int, required=True)
    task.add_argument("--task", required=True)
    ops.add_parser("undo", help="put back what the last edit changed")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)  # a bad argument: usage and status 2
    root = dataset_root(args.repo_id, args.root)
    if args.operation == "delete":
        kept = delete_episodes(root, args.episodes)
        sys.stdout.write(
            f"deleted episodes {', '.join(map(str, args.episodes))}; "
            f"{len(kept)} episodes remain, renumbered 0 to {len(kept) - 1}\n"
        )
    elif args.operation == "label":
        outcome = None if args.outcome == "none" else args.outcome
        relabel_episode(root, args.repo_id, args.episode, outcome)
        sys.stdout.write(f"episode {args.episode}: {args.outcome}\n")
    elif args.operation == "task":
        retask_episode(root, args.episode, args.task)
        sys.stdout.write(f"episode {args.episode}: task {args.task.strip()!r}\n")
    elif not undo_last_edit(root):
        raise ConfigError(f"nothing to undo in {root}: no edit since the last undo")
    else:
        sys.stdout.write("the last edit is undone\n")
    return 0
