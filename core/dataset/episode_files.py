"""Writing one recorded episode into the dataset's files (run on the saver thread).

Layout choice (crash safety and speed): each episode's video is its own mp4 per camera (a new
`file_index` per episode, `from_timestamp` 0), because the encoder streams it during the episode
and appending to a shared mp4 would mean remuxing the whole file at every save. The data parquet
and the episodes-metadata parquet are shared by episodes as lerobot does: the current file is
rewritten with the new episode appended (row groups copied, one row group per episode) into a
staged file that replaces it atomically, until it would pass `data_files_size_in_mb` (100 MB);
then a new file starts. All parquet files are complete (footer written) after every save.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.dataset import stats as dstats
from core.dataset.camera_worker import TakeResult
from core.dataset.depth import feature_info
from core.dataset.features import DEFAULT_FEATURES, has_outcomes, is_depth
from core.dataset.layout import (
    DATA_FILES_SIZE_IN_MB,
    DATA_PATH,
    EPISODES_PATH,
    INFO_PATH,
    STATS_PATH,
    TASKS_PATH,
    VIDEO_PATH,
    next_file,
    write_json,
)
from core.dataset.meta import DatasetMeta, FileCursor
from core.dataset.outcomes import OUTCOME_COLUMN, frame_columns, stage_sidecar
from core.dataset.video_encoder import DepthSettings, VideoSettings

VISUAL = ("video", "image")
IMAGE_ROWS_PER_GROUP = 64  # image parquet rows are big: write them in slices


@dataclass
class EpisodeFrames:
    """What the control thread gathered for one episode."""

    states: list[np.ndarray]
    actions: list[np.ndarray]
    tasks: list[str]
    extras: dict[str, list] = field(default_factory=dict)  # further per-frame features
    outcome: str | None = None  # "success" | "failure" | None (not marked)

    @property
    def length(self) -> int:
        return len(self.tasks)


def stage_episode(
    meta: DatasetMeta,
    frames: EpisodeFrames,
    cameras: dict[str, TakeResult],
    video: VideoSettings | None,
    staging: Path,
    depth: DepthSettings | None = None,
) -> tuple[list[tuple[Path, Path]], DatasetMeta]:
    """Write every file the episode changes under `staging`; return the moves that publish them
    and the metadata as it will be once published (`meta` itself is left unchanged)."""
    new = copy.deepcopy(meta)
    n = frames.length
    episode_index = new.total_episodes
    start = new.total_frames
    fps = new.fps
    features = new.features
    root = new.root
    staging.mkdir(parents=True, exist_ok=True)
    moves: list[tuple[Path, Path]] = []

    tasks_changed = False
    task_ids = {task: i for i, task in enumerate(new.tasks)}
    for task in dict.fromkeys(frames.tasks):
        if task not in task_ids:
            task_ids[task] = len(new.tasks)
            new.tasks.append(task)
            tasks_changed = True
    task_index = np.array([task_ids[t] for t in frames.tasks], dtype=np.int64)

    frame_index = np.arange(n, dtype=np.int64)
    columns: dict[str, np.ndarray] = {}
    if "action" in features:
        columns["action"] = np.stack(frames.actions).astype(np.float32)
    if "observation.state" in features:
        columns["observation.state"] = np.stack(frames.states).astype(np.float32)
    columns["timestamp"] = frame_index / fps  # float64 for the statistics, as lerobot
    columns["frame_index"] = frame_index
    columns["episode_index"] = np.full(n, episode_index, dtype=np.int64)
    columns["index"] = np.arange(start, start + n, dtype=np.int64)
    columns["task_index"] = task_index
    if has_outcomes(features):
        columns.update(frame_columns(n, frames.outcome))
    for key, ft in features.items():
        if key not in columns and key not in DEFAULT_FEATURES and ft["dtype"] not in VISUAL:
            values = frames.extras.get(key)
            if values is None or len(values) != n:
                got = 0 if values is None else len(values)
                raise ValueError(f"feature {key}: {got} values for {n} frames")
            columns[key] = np.asarray(values, dtype=ft["dtype"]).reshape(n, *ft["shape"][1:])

    # statistics, in feature order
    episode_stats: dict[str, dstats.Stats] = {}
    for key, ft in features.items():
        if ft["dtype"] in ("video", "image"):
            result = cameras[key]
            if result.depth_stats is not None:
                episode_stats[key] = result.depth_stats
            else:
                episode_stats[key] = dstats.image_stats(result.channel_hist, result.sampled)
        else:
            episode_stats[key] = dstats.vector_stats(columns[key])

    # data parquet
    image_keys = [k for k, ft in features.items() if ft["dtype"] == "image"]
    batches = _data_batches(features, columns, {k: cameras[k] for k in image_keys}, fps)
    schema = data_schema(features)
    data_cursor = new.data_file
    _make_room(root, DATA_PATH, data_cursor, n)
    data_dst, data_tmp = _append_parquet(root, staging, DATA_PATH, data_cursor, schema, batches)
    moves.append((data_tmp, data_dst))

    # videos
    video_columns: dict[str, object] = {}
    video_moves = []
    for key in new.video_keys:
        chunk, file = new.next_video[key]
        dst = root / VIDEO_PATH.format(video_key=key, chunk_index=chunk, file_index=file)
        video_moves.append((cameras[key].path, dst))
        video_columns[f"videos/{key}/chunk_index"] = chunk
        video_columns[f"videos/{key}/file_index"] = file
        video_columns[f"videos/{key}/from_timestamp"] = 0.0
        video_columns[f"videos/{key}/to_timestamp"] = n / fps
        new.next_video[key] = next_file(chunk, file)
        info = features[key].setdefault("info", {"is_depth_map": False})
        if "video.codec" not in info:
            if is_depth(features[key]):
                settings = depth or DepthSettings()
                info.update(_video_info(cameras[key].path, settings, channels=1))
                info.update(feature_info(settings))
            else:
                info.update(_video_info(cameras[key].path, video))

    # episodes metadata row
    row: dict[str, object] = {
        "episode_index": episode_index,
        "tasks": list(dict.fromkeys(frames.tasks)),
        "length": n,
        "data/chunk_index": data_cursor.chunk,
        "data/file_index": data_cursor.file,
        "dataset_from_index": start,
        "dataset_to_index": start + n,
        **video_columns,
    }
    root = meta.root
    outcome_column = outcomes_in_episodes(root)
    if outcome_column:
        row[OUTCOME_COLUMN] = frames.outcome
    for key, fstats in episode_stats.items():
        for stat in dstats.STAT_KEYS:
            row[f"stats/{key}/{stat}"] = np.asarray(fstats[stat]).tolist()
    ep_cursor = new.episodes_file
    _make_room(root, EPISODES_PATH, ep_cursor, 1)
    row["meta/episodes/chunk_index"] = ep_cursor.chunk
    row["meta/episodes/file_index"] = ep_cursor.file
    ep_schema = episodes_schema(features, outcome_column)
    ep_batch = pa.RecordBatch.from_pylist([row], schema=ep_schema)
    ep_dst, ep_tmp = _append_parquet(root, staging, EPISODES_PATH, ep_cursor, ep_schema, [ep_batch])

    # tasks, outcomes kept beside lerobot's columns, stats, info
    later: list[tuple[Path, Path]] = []
    if not outcome_column and frames.outcome is not None:
        later.append(stage_sidecar(root, staging, {episode_index: frames.outcome}))
    if tasks_changed:
        tmp = staging / "tasks.parquet"
        write_tasks(tmp, new.tasks)
        later.append((tmp, root / TASKS_PATH))
    new.stats = (
        episode_stats if new.stats is None else dstats.aggregate_all(new.stats, episode_stats)
    )
    tmp = staging / "stats.json"
    write_json(tmp, dstats.to_lists(new.stats))
    later.append((tmp, root / STATS_PATH))

    new.info["total_episodes"] = episode_index + 1
    new.info["total_frames"] = start + n
    new.info["total_tasks"] = len(new.tasks)
    new.info["splits"] = {"train": f"0:{episode_index + 1}"}
    tmp = staging / "info.json"
    write_json(tmp, new.info)

    ordered = video_moves + later + moves + [(ep_tmp, ep_dst), (tmp, root / INFO_PATH)]
    return ordered, new


def _make_room(root: Path, template: str, cursor: FileCursor, rows: int) -> None:
    """Move the cursor to a new file if `rows` more rows would grow its file past the limit."""
    dst = root / template.format(chunk_index=cursor.chunk, file_index=cursor.file)
    if cursor.exists and dst.exists():
        size = dst.stat().st_size
        grown = size + size * rows // max(pq.ParquetFile(dst).metadata.num_rows, 1)
        if grown >= DATA_FILES_SIZE_IN_MB * 1024 * 1024:
            cursor.advance()


def _append_parquet(
    root: Path, staging: Path, template: str, cursor: FileCursor, schema: pa.Schema, batches
) -> tuple[Path, Path]:
    """Stage the cursor's file with `batches` appended (row groups copied, then the new ones).
    Returns (destination, staged file)."""
    dst = root / template.format(chunk_index=cursor.chunk, file_index=cursor.file)
    old = pq.ParquetFile(dst) if cursor.exists and dst.exists() else None
    tmp = staging / str(dst.relative_to(root)).replace("/", "__")
    with pq.ParquetWriter(tmp, schema) as writer:
        for i in range(old.num_row_groups if old is not None else 0):
            writer.write_table(conform(old.read_row_group(i), schema))
        for batch in batches:
            writer.write_batch(batch)
    cursor.exists = True
    return dst, tmp


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` cast to `schema`; columns it lacks (written by an older lerecord, or by lerobot:
    the outcome) are added as nulls. A table already in `schema` (every row group this lerecord
    wrote) is returned as it is: a cast holds the GIL column by column, a stall for the control
    thread at every save on one core."""
    if table.schema.equals(schema):
        return table
    for fld in schema:
        if fld.name not in table.column_names:
            table = table.append_column(fld, pa.nulls(len(table), fld.type))
    return table.select(schema.names).cast(schema)


def data_schema(features: dict) -> pa.Schema:
    fields: list = []
    hf: dict[str, dict] = {}
    for key, ft in features.items():
        if ft["dtype"] == "video":
            continue
        if ft["dtype"] == "image":
            fields.append(pa.field(key, pa.struct([("bytes", pa.binary()), ("path", pa.string())])))
            hf[key] = {"_type": "Image"}
        elif key in DEFAULT_FEATURES or ft["shape"] == [1]:
            fields.append(pa.field(key, pa.from_numpy_dtype(np.dtype(ft["dtype"]))))
            hf[key] = {"dtype": ft["dtype"], "_type": "Value"}
        else:
            dtype = pa.from_numpy_dtype(np.dtype(ft["dtype"]))
            fields.append(pa.field(key, pa.list_(dtype, ft["shape"][0])))
            hf[key] = {
                "feature": {"dtype": ft["dtype"], "_type": "Value"},
                "length": ft["shape"][0],
                "_type": "List",
            }
    metadata = {"huggingface": json.dumps({"info": {"features": hf}})}
    return pa.schema(fields, metadata=metadata)


def _data_batches(features: dict, columns: dict, images: dict[str, TakeResult], fps: int):
    n = len(columns["frame_index"])
    step = IMAGE_ROWS_PER_GROUP if images else max(n, 1)
    schema = data_schema(features)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        arrays = []
        for fld in schema:
            key = fld.name
            if key in images:
                folder = images[key].path
                names = [f"frame-{i:06d}.png" for i in range(lo, hi)]
                data = [(folder / name).read_bytes() for name in names]
                arrays.append(
                    pa.StructArray.from_arrays(
                        [pa.array(data, pa.binary()), pa.array(names, pa.string())],
                        names=["bytes", "path"],
                    )
                )
            elif key == "timestamp":
                arrays.append(pa.array(columns[key][lo:hi].astype(np.float32)))
            elif pa.types.is_fixed_size_list(fld.type):
                block = np.ascontiguousarray(columns[key][lo:hi])
                arrays.append(pa.FixedSizeListArray.from_arrays(block.reshape(-1), block.shape[1]))
            else:
                arrays.append(pa.array(columns[key][lo:hi]))
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def outcomes_in_episodes(root: Path) -> bool:
    """Whether the episodes metadata has lerecord's outcome column: a new dataset does; one that
    lerobot recorded keeps lerobot's columns (its loader refuses files whose columns differ)."""
    first = root / EPISODES_PATH.format(chunk_index=0, file_index=0)
    return not first.exists() or OUTCOME_COLUMN in pq.read_schema(first).names


def episodes_schema(features: dict, outcome_column: bool = True) -> pa.Schema:
    i64, f64 = pa.int64(), pa.float64()
    fields = [
        ("episode_index", i64),
        ("tasks", pa.list_(pa.string())),
        ("length", i64),
        ("data/chunk_index", i64),
        ("data/file_index", i64),
        ("dataset_from_index", i64),
        ("dataset_to_index", i64),
    ]
    for key, ft in features.items():
        if ft["dtype"] == "video":
            fields += [
                (f"videos/{key}/chunk_index", i64),
                (f"videos/{key}/file_index", i64),
                (f"videos/{key}/from_timestamp", f64),
                (f"videos/{key}/to_timestamp", f64),
            ]
    for key, ft in features.items():
        image = ft["dtype"] in ("video", "image")
        value = pa.list_(pa.list_(pa.list_(f64))) if image else pa.list_(f64)
        for stat in dstats.STAT_KEYS:
            fields.append((f"stats/{key}/{stat}", pa.list_(i64) if stat == "count" else value))
    fields += [("meta/episodes/chunk_index", i64), ("meta/episodes/file_index", i64)]
    if outcome_column:
        fields.append((OUTCOME_COLUMN, pa.string()))
    return pa.schema(fields)


def write_tasks(path: Path, tasks: list[str]) -> None:
    """tasks.parquet exactly as pandas writes it: `task_index` plus an index named `task`."""
    pandas_meta = {
        "index_columns": ["task"],
        "column_indexes": [
            {
                "name": None,
                "field_name": None,
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": {"encoding": "UTF-8"},
            }
        ],
        "columns": [
            {
                "name": "task_index",
                "field_name": "task_index",
                "pandas_type": "int64",
                "numpy_type": "int64",
                "metadata": None,
            },
            {
                "name": "task",
                "field_name": "task",
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": None,
            },
        ],
        "attributes": {},
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": _pandas_version(),
    }
    schema = pa.schema(
        [("task_index", pa.int64()), ("task", pa.string())],
        metadata={"pandas": json.dumps(pandas_meta)},
    )
    table = pa.table([pa.array(range(len(tasks)), pa.int64()), pa.array(tasks)], schema=schema)
    pq.write_table(table, path)


def _video_info(path: Path, settings: VideoSettings | None, channels: int = 3) -> dict:
    """The `video.*` block lerobot writes after the first episode, read from the file."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        info = {
            "video.height": stream.height,
            "video.width": stream.width,
            "video.codec": stream.codec.canonical_name,
            "video.pix_fmt": stream.pix_fmt,
            "video.fps": int(stream.base_rate),
            "video.channels": channels,
            "has_audio": len(container.streams.audio) > 0,
        }
    if settings is not None:
        info.update(settings.info())
    return info


def warm_up() -> None:
    """Pay the saves' one-time costs now, before the session freezes its setup out of the garbage
    collector's view (`core.session`): at its first conversion of an array pyarrow imports pandas
    when it is installed (0.4 s, 40 000 objects that each later full collection walked, 20-30 ms
    with the GIL held), and the tasks file's metadata reads pandas' version."""
    pa.array(np.zeros(1, np.float32))
    _pandas_version()


@functools.cache
def _pandas_version() -> str:
    try:
        return metadata.version("pandas")
    except metadata.PackageNotFoundError:
        return "2.3.3"
