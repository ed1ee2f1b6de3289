"""Deleting episodes from a dataset in place, as lerobot 0.6.1's `delete_episodes` would, and
giving episodes another task (the same rewrite, in the same edit).

What lerobot's `lerobot-edit-dataset --operation.type=delete_episodes` produces, file by file:
kept episodes are renumbered 0…n-1 in their order; data files keep their chunk/file names and
lose the deleted rows, `index` counting again from 0 over the files in order and `task_index`
following the tasks that remain; a video file holding only kept episodes stays as it is, one
mixing kept and deleted episodes is re-encoded with the kept frames (the source's codec), and
one holding only deleted episodes goes; the episodes metadata is written anew in
`meta/episodes/chunk-000/file-000.parquet` with each kept episode's stats; stats.json is the
aggregate of the kept episodes' stats; info.json gets the new totals. Unlike lerobot, each
episode's `outcome` is kept.

Everything is staged under `.lerecord/staging` and published through `commit.publish`, so a
kill at any instant leaves the old dataset or the new one once `commit.recover` ran (every
opener runs it). The files it replaces or removes are kept (hard links) for `undo`.
"""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.dataset import commit
from core.dataset import stats as dstats
from core.dataset.layout import (
    EPISODES_PATH,
    INFO_PATH,
    STATS_PATH,
    TASKS_PATH,
    read_json,
    write_bytes,
    write_json,
)
from core.dataset.outcomes import OUTCOME_COLUMN, SIDECAR_PATH, episode_files, sidecar_marks
from hardware.errors import ConfigError

UNDO_DIR = "edit-undo"  # under .lerecord: the last edit's replaced files and how to put them back


def check_deletion(total_episodes: int, episodes: list[int]) -> None:
    """ConfigError (nothing touched) unless `episodes` names existing episodes, not all."""
    if not episodes:
        raise ConfigError("--episodes: empty; give the episodes to delete, e.g. --episodes=3,7")
    missing = sorted(set(episodes) - set(range(total_episodes)))
    if missing:
        raise ConfigError(
            f"--episodes: {', '.join(map(str, missing))} not in the dataset "
            f"(it has episodes 0 to {total_episodes - 1}); nothing was deleted"
        )
    if set(episodes) >= set(range(total_episodes)):
        raise ConfigError(
            "--episodes: that is every episode; delete the dataset folder instead "
            "(lerobot refuses to delete all episodes too)"
        )


def delete_episodes(root: Path, episodes: list[int]) -> list[int]:
    """Delete `episodes` from the dataset at `root` in place; return the kept old indices."""
    check_deletion(read_json(root / INFO_PATH)["total_episodes"], episodes)  # before any write
    return edit_episodes(root, episodes, {})


def retask_episode(root: Path, episode: int, task: str) -> None:
    """Give one episode another task (tasks renumbered as lerobot would write them); undoable."""
    check_tasks(read_json(root / INFO_PATH)["total_episodes"], {episode: task})  # before writing
    edit_episodes(root, [], {episode: task.strip()})


def check_tasks(total_episodes: int, tasks: dict[int, str]) -> None:
    """ConfigError (nothing touched) unless every edited episode exists and its task is text."""
    for episode, task in tasks.items():
        if not 0 <= episode < total_episodes:
            raise ConfigError(
                f"--episode: {episode} is not in the dataset "
                f"(it has episodes 0 to {total_episodes - 1}); no task was changed"
            )
        if not task.strip():
            raise ConfigError(f"--task: empty for episode {episode}; give the task in words")


def edit_episodes(root: Path, delete: list[int], tasks: dict[int, str]) -> list[int]:
    """Delete `delete` and give the episodes in `tasks` (old indices) their new task, in one
    journaled, undoable edit of the dataset at `root`; return the kept old indices."""
    handle = commit.lock(root)
    try:
        commit.recover(root)
        info = read_json(root / INFO_PATH)
        if delete:
            check_deletion(info["total_episodes"], delete)
        check_tasks(info["total_episodes"], tasks)
        staging = commit.staging(root) / "delete"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            moves, kept = _stage(root, info, set(delete), staging, tasks)
            publish_with_undo(root, moves)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return kept
    finally:
        if handle is not None:
            handle.close()


def relabel_episode(root: Path, repo_id: str, episode: int, outcome: str | None) -> None:
    """Mark one episode of a dataset no recorder has open (None: not marked); undoable."""
    from core.dataset.meta import DatasetMeta
    from core.dataset.outcomes import stage_outcome

    total = read_json(root / INFO_PATH)["total_episodes"]
    if not 0 <= episode < total:  # refused before anything is written
        raise ConfigError(
            f"--episode: {episode} is not in the dataset (it has episodes 0 to {total - 1})"
        )
    handle = commit.lock(root)
    try:
        commit.recover(root)
        info = read_json(root / INFO_PATH)
        stats = read_json(root / STATS_PATH) if (root / STATS_PATH).exists() else None
        meta = DatasetMeta(root, repo_id, info, stats=stats and dstats.from_lists(stats))
        staging = commit.staging(root) / "label"
        try:
            moves, _ = stage_outcome(meta, episode, outcome, staging)
            publish_with_undo(root, moves)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        if handle is not None:
            handle.close()


def publish_with_undo(root: Path, moves: list[tuple[Path, Path | None]]) -> None:
    """Publish `moves` (a None destination deletes that dataset file) after keeping what they
    replace or delete, with the moves that put it back, in `.lerecord/edit-undo`."""
    folder = commit.scratch(root) / UNDO_DIR
    shutil.rmtree(folder, ignore_errors=True)
    undo: list[list[str | None]] = []
    for src, dst in moves:
        target = src if dst is None else dst  # the dataset file replaced or deleted
        if dst is not None and not dst.exists():
            undo.append([str(dst.relative_to(root)), None])
            continue
        kept = folder / "files" / target.relative_to(root)
        kept.parent.mkdir(parents=True, exist_ok=True)
        try:
            kept.hardlink_to(target)
        except OSError:  # a file system without hard links
            shutil.copy2(target, kept)
        undo.append([str(kept.relative_to(root)), str(target.relative_to(root))])
    write_bytes(folder / "moves.json", json.dumps(undo[::-1]).encode())
    commit.publish(root, moves)


def undo_last_edit(root: Path) -> bool:
    """Put back what the last edit changed; False when there is nothing to undo."""
    folder = commit.scratch(root) / UNDO_DIR
    if not (folder / "moves.json").exists():
        return False
    handle = commit.lock(root)
    try:
        commit.recover(root)
        entries = json.loads((folder / "moves.json").read_text())
        moves = [(root / src, None if dst is None else root / dst) for src, dst in entries]
        commit.publish(root, moves)
        shutil.rmtree(folder, ignore_errors=True)
        return True
    finally:
        if handle is not None:
            handle.close()


# ---- staging --------------------------------------------------------------------------------


def _stage(root: Path, info: dict, delete: set[int], staging: Path, retask: dict[int, str]):
    rows = sorted(
        (r for path in episode_files(root) for r in pq.read_table(path).to_pylist()),
        key=lambda r: r["episode_index"],
    )
    kept = [r["episode_index"] for r in rows if r["episode_index"] not in delete]
    mapping = {old: new for new, old in enumerate(kept)}
    for row in rows:
        if row["episode_index"] in retask:
            row["tasks"] = [retask[row["episode_index"]]]
    by_old = {r["episode_index"]: r for r in rows}
    moves: list[tuple[Path, Path | None]] = []

    old_tasks = _read_tasks(root)
    used = {t for old in kept for t in by_old[old]["tasks"]}
    new_tasks = [t for t in old_tasks if t in used]
    new_tasks += [t for t in dict.fromkeys(retask.values()) if t in used and t not in new_tasks]
    task_map = {i: new_tasks.index(t) for i, t in enumerate(old_tasks) if t in used}
    episode_task = {old: new_tasks.index(task) for old, task in retask.items() if old in mapping}
    for old, index in episode_task.items():
        _constant_stats(by_old[old], "task_index", index)

    data_meta = _stage_data(root, info, mapping, task_map, episode_task, staging, moves)
    video_meta = _stage_videos(root, info, by_old, mapping, staging, moves)

    from core.dataset.episode_files import conform, episodes_schema

    sidecar = sidecar_marks(root)  # folded into the outcome column of the one episodes file
    new_rows = []
    for old in kept:
        row = dict(by_old[old])
        row[OUTCOME_COLUMN] = sidecar.get(old, row.get(OUTCOME_COLUMN))
        new = mapping[old]
        row.update(episode_index=new, **data_meta[new], **video_meta.get(new, {}))
        row["meta/episodes/chunk_index"], row["meta/episodes/file_index"] = 0, 0
        new_rows.append(row)
    schema = episodes_schema(info["features"])
    staged = staging / "episodes.parquet"
    pq.write_table(conform(pa.Table.from_pylist(new_rows), schema), staged)
    first = root / EPISODES_PATH.format(chunk_index=0, file_index=0)
    moves += [(path, None) for path in episode_files(root) if path != first]
    moves.append((staged, first))
    if (root / SIDECAR_PATH).exists():
        moves.append((root / SIDECAR_PATH, None))

    if new_tasks != old_tasks:
        from core.dataset.episode_files import write_tasks

        staged = staging / "tasks.parquet"
        write_tasks(staged, new_tasks)
        moves.append((staged, root / TASKS_PATH))

    stats = {}
    for key in info["features"]:
        if f"stats/{key}/mean" in new_rows[0]:
            parts = [
                {s: np.array(row[f"stats/{key}/{s}"]) for s in dstats.STAT_KEYS} for row in new_rows
            ]
            stats[key] = dstats.aggregate(parts)
    staged = staging / "stats.json"
    write_json(staged, dstats.to_lists(stats))
    moves.append((staged, root / STATS_PATH))

    info = dict(info)
    info["total_episodes"] = len(kept)
    info["total_frames"] = sum(r["length"] for r in new_rows)
    info["total_tasks"] = len(new_tasks)
    info["splits"] = {"train": f"0:{len(kept)}"}
    staged = staging / "info.json"
    write_json(staged, info)
    moves.append((staged, root / INFO_PATH))
    return moves, kept


def _read_tasks(root: Path) -> list[str]:
    table = pq.read_table(root / TASKS_PATH)
    pairs = zip(table["task_index"].to_pylist(), table["task"].to_pylist(), strict=True)
    return [task for _, task in sorted(pairs)]


def _constant_stats(row: dict, key: str, value: int) -> None:
    """An episode's stats of `key` once every frame of it holds `value`."""
    for stat in dstats.STAT_KEYS:
        column = f"stats/{key}/{stat}"
        if column in row and stat != "count":
            row[column] = [0.0 if stat == "std" else value for _ in row[column]]


def _stage_data(root, info, mapping, task_map, episode_task, staging, moves) -> dict[int, dict]:
    """Filter and renumber the data files; return each new episode's data columns."""
    out: dict[int, dict] = {}
    index = 0
    for path in sorted((root / "data").glob("*/*.parquet")):
        table = pq.read_table(path)
        episodes = np.asarray(table["episode_index"])
        keep = np.isin(episodes, list(mapping))
        if not keep.any():
            moves.append((path, None))
            continue
        table = table.filter(pa.array(keep))
        n = table.num_rows
        new_episodes = np.array([mapping[e] for e in np.asarray(table["episode_index"])])
        old_rows = zip(
            table["episode_index"].to_pylist(), table["task_index"].to_pylist(), strict=True
        )
        new_tasks = np.array([episode_task.get(e, task_map.get(t, -1)) for e, t in old_rows])
        for name, values in (
            ("episode_index", new_episodes),
            ("index", np.arange(index, index + n)),
            ("task_index", new_tasks),
        ):
            column = table.schema.get_field_index(name)
            field = table.schema.field(name)
            table = table.set_column(column, field, pa.array(values.astype(np.int64)))
        chunk, file = int(path.parent.name.split("-")[-1]), int(path.stem.split("-")[-1])
        for new in np.unique(new_episodes):
            at = np.flatnonzero(new_episodes == new)
            out[int(new)] = {
                "data/chunk_index": chunk,
                "data/file_index": file,
                "dataset_from_index": index + int(at[0]),
                "dataset_to_index": index + int(at[-1]) + 1,
            }
        staged = staging / f"data-{chunk:03d}-{file:03d}.parquet"
        pq.write_table(table, staged)
        moves.append((staged, path))
        index += n
    return out


def _stage_videos(root, info, by_old, mapping, staging, moves) -> dict[int, dict]:
    """Keep, cut or remove each video file; return each new episode's video columns."""
    out: dict[int, dict] = {}
    fps = info["fps"]
    video_keys = [k for k, ft in info["features"].items() if ft["dtype"] == "video"]
    for key in video_keys:
        files: dict[tuple[int, int], list[int]] = {}
        for old, row in by_old.items():
            files.setdefault(
                (row[f"videos/{key}/chunk_index"], row[f"videos/{key}/file_index"]), []
            )
            files[(row[f"videos/{key}/chunk_index"], row[f"videos/{key}/file_index"])].append(old)
        for (chunk, file), olds in sorted(files.items()):
            path = root / info["video_path"].format(
                video_key=key, chunk_index=chunk, file_index=file
            )
            kept = sorted((o for o in olds if o in mapping), key=lambda o: mapping[o])
            if not kept:
                moves.append((path, None))
                continue
            names = [f"videos/{key}/{c}" for c in ("chunk_index", "file_index")]
            if len(kept) == len(olds):
                for old in kept:
                    columns = {c: by_old[old][c] for c in names}
                    for c in ("from_timestamp", "to_timestamp"):
                        columns[f"videos/{key}/{c}"] = by_old[old][f"videos/{key}/{c}"]
                    out.setdefault(mapping[old], {}).update(columns)
                continue
            ranges = [
                (
                    round(by_old[o][f"videos/{key}/from_timestamp"] * fps),
                    round(by_old[o][f"videos/{key}/to_timestamp"] * fps),
                )
                for o in kept
            ]
            staged = staging / f"{key}-{chunk:03d}-{file:03d}.mp4"
            _cut_video(path, staged, ranges, fps, info["features"][key].get("info", {}))
            moves.insert(0, (staged, path))  # videos first, as the recorder publishes
            start = 0.0
            for old in kept:
                duration = by_old[old]["length"] / fps
                out.setdefault(mapping[old], {}).update(
                    {
                        names[0]: chunk,
                        names[1]: file,
                        f"videos/{key}/from_timestamp": start,
                        f"videos/{key}/to_timestamp": start + duration,
                    }
                )
                start += duration
    return out


def _cut_video(src: Path, dst: Path, ranges: list[tuple[int, int]], fps: int, vinfo: dict):
    """Re-encode the frames of `ranges` (half-open, in frames) of `src` into `dst`, timestamps
    counting from 0, with the encoder settings the dataset's info gives for it."""
    import av

    from core.dataset.video_encoder import VideoSettings

    settings = VideoSettings.from_info(vinfo)
    wanted: set[int] = set()
    for lo, hi in ranges:
        wanted.update(range(lo, hi))
    with av.open(str(src)) as source, av.open(str(dst), mode="w") as out:
        stream_in = source.streams.video[0]
        stream: Any = out.add_stream(  # a video stream: width, height, pix_fmt, encode
            settings.encoder, rate=Fraction(fps), options=settings.options()
        )
        stream.width = stream_in.codec_context.width
        stream.height = stream_in.codec_context.height
        stream.pix_fmt = settings.pix_fmt
        stream.time_base = Fraction(1, fps)
        written = 0
        for i, frame in enumerate(source.decode(stream_in)):
            if i not in wanted:
                continue
            image = frame.reformat(width=stream.width, height=stream.height, format=stream.pix_fmt)
            image.pts = written
            image.time_base = Fraction(1, fps)
            for packet in stream.encode(image):
                out.mux(packet)
            written += 1
        for packet in stream.encode():
            out.mux(packet)
