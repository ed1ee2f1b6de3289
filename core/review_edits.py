"""The review's edits inside a live session: episodes marked to delete and new tasks, kept in
memory while the session records and applied once, after its last save and before its upload,
through the journaled edit of `lerecord edit` (`core.dataset.prune.edit_episodes`). A session
killed before its end keeps every saved episode as recorded: the marks are lost, nothing else."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from core import messages as m


@dataclass(frozen=True)
class AppliedEdits:
    deleted: tuple[int, ...]  # old indices
    retasked: tuple[int, ...]  # new indices
    kept: list[int]  # the old index of each new episode


class PendingEdits:
    """Replaced, never mutated: the clients' thread marks, the control thread applies."""

    def __init__(self) -> None:
        self.deletions: frozenset[int] = frozenset()
        self.tasks: dict[int, str] = {}

    def change(self, command: m.MarkDeletion | m.EditTask, saved: Collection[int]) -> str | None:
        """Take the review's command; the warning to show when it names no saved episode."""
        index = command.episode_index
        if index not in saved and not (isinstance(command, m.MarkDeletion) and not command.delete):
            return f"episode {index} is not saved in this session: nothing to edit"
        if isinstance(command, m.EditTask):
            if not command.task.strip():
                return f"episode {index}: the new task is empty; type the task in words"
            self.tasks = {**self.tasks, index: command.task.strip()}
        elif command.delete:
            self.deletions = self.deletions | {index}
        else:
            self.deletions = self.deletions - {index}
        return None

    def forget(self, index: int) -> None:
        """The episode saved last was taken out (re-recorded): its index comes back unmarked."""
        self.deletions = self.deletions - {index}
        self.tasks = {k: v for k, v in self.tasks.items() if k != index}

    def event(self, at: float) -> m.EditsPending:
        return m.EditsPending(at, tuple(sorted(self.deletions)), tuple(sorted(self.tasks.items())))

    def apply(self, root: Path, saved: Collection[int]) -> AppliedEdits | None:
        """Edit the dataset (ConfigError / OSError: nothing changed); None when nothing to do."""
        deleted = sorted(self.deletions & set(saved))
        tasks = {k: v for k, v in self.tasks.items() if k in saved and k not in self.deletions}
        if not deleted and not tasks:
            return None
        from core.dataset.prune import edit_episodes

        kept = edit_episodes(root, deleted, tasks)
        retasked = tuple(new for new, old in enumerate(kept) if old in tasks)
        return AppliedEdits(tuple(deleted), retasked, kept)
