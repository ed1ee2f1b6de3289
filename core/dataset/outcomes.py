"""Episode outcomes: success or failure, marked by the operator, stored where lerobot looks.

Per episode, the episodes metadata has an `outcome` column ("success", "failure", or null when
not marked); lerobot 0.6.1 keeps extra columns there (`meta.episodes[i]["outcome"]`). Per frame,
datasets with lerobot's outcome features (`features.OUTCOME_FEATURES`) carry them as lerobot-eval
writes them: `next.done` true on the last frame, `next.success` true and `next.reward` 1.0 on the
last frame of a successful episode, false / 0.0 everywhere else (sparse terminal reward).

A dataset first recorded by lerobot keeps lerobot's episodes columns when lerecord resumes it
(lerobot's loader refuses episodes files whose columns differ), so its outcomes go to a sidecar,
`meta/outcomes.json` (`{"3": "success", …}`, marked episodes only), a file lerobot ignores; a
delete, which rewrites every episodes file into one, folds them into the column.

`stage_outcome` relabels an episode already in the dataset: it stages the data file holding its
rows, its episodes-metadata file (or the sidecar) and stats.json, for `commit.publish`.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.dataset import stats as dstats
from core.dataset.features import has_outcomes
from core.dataset.layout import DATA_PATH, STATS_PATH, read_json, write_json
from hardware.errors import ConfigError

OUTCOMES = ("success", "failure")
OUTCOME_COLUMN = "outcome"
SIDECAR_PATH = "meta/outcomes.json"  # outcomes of a dataset whose episodes keep lerobot's columns
RELABELLED = ("next.reward", "next.success")  # the frame features an outcome changes


def check_outcome(outcome: str | None) -> None:
    if outcome is not None and outcome not in OUTCOMES:
        raise ConfigError(f"outcome {outcome!r}: expected success, failure or none")


def frame_columns(length: int, outcome: str | None) -> dict[str, np.ndarray]:
    """The per-frame outcome features of an episode of `length` frames."""
    last = np.zeros(length, dtype=bool)
    if length:
        last[-1] = True
    success = last & (outcome == "success")
    return {
        "next.reward": success.astype(np.float32),
        "next.success": success,
        "next.done": last,
    }


def sidecar_marks(root: Path) -> dict[int, str]:
    """The outcomes kept in the sidecar (none when there is no sidecar)."""
    path = root / SIDECAR_PATH
    if not path.exists():
        return {}
    return {int(episode): outcome for episode, outcome in read_json(path).items()}


def stage_sidecar(root: Path, staging: Path, marks: dict[int, str | None]) -> tuple[Path, Path]:
    """Stage the sidecar with `marks` applied (None: not marked); the move that publishes it."""
    merged = {**sidecar_marks(root), **marks}
    kept = {str(k): v for k, v in sorted(merged.items()) if v is not None}
    staged = staging / "outcomes.json"
    write_json(staged, kept)
    return staged, root / SIDECAR_PATH


def episode_files(root: Path) -> list[Path]:
    """The episodes-metadata parquet files, in order."""
    return sorted((root / "meta/episodes").glob("*/*.parquet"))


def stage_outcome(meta, episode_index: int, outcome: str | None, staging: Path):
    """Stage the files that relabel `episode_index`; return (moves, metadata once published).

    ConfigError when the dataset has no such episode."""
    check_outcome(outcome)
    new = copy.deepcopy(meta)
    root = new.root
    staging.mkdir(parents=True, exist_ok=True)
    found = _find_episode(root, episode_index)
    if found is None:
        raise ConfigError(
            f"episode {episode_index}: not in the dataset at {root} "
            f"(it has episodes 0 to {new.total_episodes - 1})"
        )
    ep_path, episodes, row = found
    columns = episodes.to_pydict()
    columns.setdefault(OUTCOME_COLUMN, [None] * episodes.num_rows)
    columns[OUTCOME_COLUMN][row] = outcome
    moves: list[tuple[Path, Path]] = []
    if has_outcomes(new.features):
        chunk, file = columns["data/chunk_index"][row], columns["data/file_index"][row]
        data_path = root / DATA_PATH.format(chunk_index=chunk, file_index=file)
        data = pq.read_table(data_path)
        mask = np.asarray(data["episode_index"]) == episode_index
        fresh = frame_columns(int(mask.sum()), outcome)
        for key in RELABELLED:
            values = np.asarray(data[key]).copy()
            values[mask] = fresh[key]
            data = data.set_column(
                data.schema.get_field_index(key), data.schema.field(key), pa.array(values)
            )
            for stat, value in dstats.vector_stats(fresh[key]).items():
                columns[f"stats/{key}/{stat}"][row] = np.asarray(value).tolist()
        staged = staging / f"data-{chunk:03d}-{file:03d}.parquet"
        pq.write_table(data, staged)
        moves.append((staged, data_path))
    from core.dataset.episode_files import conform, episodes_schema, outcomes_in_episodes

    column = outcomes_in_episodes(root)
    if not column:
        moves.append(stage_sidecar(root, staging, {episode_index: outcome}))
    if column or has_outcomes(new.features):  # the column, or the next.* stats changed
        schema = episodes_schema(new.features, column)
        staged = staging / f"episodes-{ep_path.parent.name}-{ep_path.name}"
        pq.write_table(conform(pa.table(columns), schema), staged)
        moves.append((staged, ep_path))
    if has_outcomes(new.features) and new.stats is not None:
        new.stats.update(_dataset_stats(root, {ep_path: columns}))
        staged = staging / "stats.json"
        write_json(staged, dstats.to_lists(new.stats))
        moves.append((staged, root / STATS_PATH))
    return moves, new


def read_outcomes(root: Path) -> dict[int, str | None]:
    """Each episode's outcome (None: not marked), from the episodes metadata; for episodes
    written without the column, from the sidecar, else their `next.success` frames (as
    lerobot-eval writes them) when there are."""
    out: dict[int, str | None] = {}
    unlabelled: set[int] = set()  # episodes in files with no outcome column
    for path in episode_files(root):
        names = pq.read_schema(path).names
        columns = ["episode_index"] + ([OUTCOME_COLUMN] if OUTCOME_COLUMN in names else [])
        table = pq.read_table(path, columns=columns).to_pydict()
        if OUTCOME_COLUMN not in table:
            unlabelled.update(table["episode_index"])
        marks = table.get(OUTCOME_COLUMN, [None] * len(table["episode_index"]))
        out.update(zip(table["episode_index"], marks, strict=True))
    if unlabelled:
        for episode, success in _frame_successes(root).items():
            if episode in unlabelled:
                out[episode] = "success" if success else "failure"
        out.update((k, v) for k, v in sidecar_marks(root).items() if k in unlabelled)
    return dict(sorted(out.items()))


def _frame_successes(root: Path) -> dict[int, bool]:
    """Episodes of a dataset whose frames carry `next.success` without an `outcome` column: a
    success when any frame says so."""
    found: dict[int, bool] = {}
    for path in sorted((root / "data").glob("*/*.parquet")):
        if "next.success" not in pq.read_schema(path).names:
            return {}
        table = pq.read_table(path, columns=["episode_index", "next.success"]).to_pydict()
        for episode, success in zip(table["episode_index"], table["next.success"], strict=True):
            found[episode] = found.get(episode, False) or bool(success)
    return found


def _find_episode(root: Path, episode_index: int):
    for path in episode_files(root):
        table = pq.read_table(path)
        indices = table["episode_index"].to_pylist()
        if episode_index in indices:
            return path, table, indices.index(episode_index)
    return None


def _dataset_stats(root: Path, replaced: dict[Path, dict]) -> dict[str, dstats.Stats]:
    """The dataset statistics of the relabelled features, folded episode by episode in order as
    the recorder folds them (`replaced`: episodes files as they are about to be written)."""
    folded: dict[str, dstats.Stats] = {}
    for path in episode_files(root):
        columns = replaced.get(path) or pq.read_table(path).to_pydict()
        for i in range(len(columns["episode_index"])):
            for key in RELABELLED:
                ep = {s: np.array(columns[f"stats/{key}/{s}"][i]) for s in dstats.STAT_KEYS}
                folded[key] = ep if key not in folded else dstats.aggregate([folded[key], ep])
    return folded
