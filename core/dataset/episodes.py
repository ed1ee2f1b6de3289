"""Reading a recorded dataset back, one episode at a time, for review and replay.

`list_episodes(root)` gives each episode's index, length, tasks, outcome and when it was saved;
`episode_arrays(root, index)` its recorded states and actions; `episode_frames(root, index, key)`
its camera frames, decoded with PyAV (downscaled to `width` pixels, enough for a terminal).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from core.dataset.layout import DATA_PATH, INFO_PATH, read_json
from core.dataset.outcomes import episode_files, read_outcomes


@dataclass(frozen=True)
class EpisodeSummary:
    index: int
    length: int
    tasks: tuple[str, ...]
    outcome: str | None
    saved_at: str  # local time the episode's files were written ("" when unknown)


@dataclass(frozen=True)
class EpisodeArrays:
    fps: int
    state_names: tuple[str, ...]
    action_names: tuple[str, ...]
    states: np.ndarray  # (frames, state dim)
    actions: np.ndarray  # (frames, action dim)


def list_episodes(root: Path) -> list[EpisodeSummary]:
    info = read_json(root / INFO_PATH)
    videos = [k for k, ft in info["features"].items() if ft["dtype"] == "video"]
    outcomes = read_outcomes(root)  # the column, the sidecar or lerobot-eval's frames
    out = []
    for path in episode_files(root):
        for row in pq.read_table(path).to_pylist():
            out.append(
                EpisodeSummary(
                    index=row["episode_index"],
                    length=row["length"],
                    tasks=tuple(row["tasks"]),
                    outcome=outcomes.get(row["episode_index"]),
                    saved_at=_saved_at(root, info, row, videos, path),
                )
            )
    return sorted(out, key=lambda e: e.index)


def camera_keys(root: Path) -> list[str]:
    info = read_json(root / INFO_PATH)
    return [k for k, ft in info["features"].items() if ft["dtype"] == "video"]


def episode_arrays(root: Path, index: int) -> EpisodeArrays:
    info = read_json(root / INFO_PATH)
    row = _row(root, index)
    path = root / DATA_PATH.format(
        chunk_index=row["data/chunk_index"], file_index=row["data/file_index"]
    )
    features = info["features"]
    columns = [k for k in ("observation.state", "action") if k in features]
    table = pq.read_table(path, columns=["episode_index", "frame_index", *columns])
    mine = table.filter(np.asarray(table["episode_index"]) == index)
    order = np.argsort(np.asarray(mine["frame_index"]))

    def stacked(key: str) -> np.ndarray:
        if key not in features:
            return np.zeros((len(order), 0), np.float32)
        return np.stack(mine[key].to_numpy(zero_copy_only=False))[order].astype(np.float32)

    return EpisodeArrays(
        fps=info["fps"],
        state_names=tuple(features.get("observation.state", {}).get("names") or ()),
        action_names=tuple(features.get("action", {}).get("names") or ()),
        states=stacked("observation.state"),
        actions=stacked("action"),
    )


def episode_frames(root: Path, index: int, key: str, width: int = 96) -> list[np.ndarray]:
    """The episode's frames of camera `key`, in order, each at most `width` pixels wide."""
    import av

    info = read_json(root / INFO_PATH)
    row = _row(root, index)
    path = root / info["video_path"].format(
        video_key=key,
        chunk_index=row[f"videos/{key}/chunk_index"],
        file_index=row[f"videos/{key}/file_index"],
    )
    start, fps = row[f"videos/{key}/from_timestamp"], info["fps"]
    first = round(start * fps)
    frames: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        scale = min(1.0, width / stream.codec_context.width)
        size = (
            max(2, round(stream.codec_context.width * scale)),
            max(2, round(stream.codec_context.height * scale)),
        )
        for i, frame in enumerate(container.decode(stream)):
            if i < first:
                continue
            if len(frames) == row["length"]:
                break
            frames.append(frame.to_ndarray(format="rgb24", width=size[0], height=size[1]))
    return frames


def _row(root: Path, index: int) -> dict:
    for path in episode_files(root):
        for row in pq.read_table(path).to_pylist():
            if row["episode_index"] == index:
                return row
    raise KeyError(index)


def _saved_at(root: Path, info: dict, row: dict, videos: list[str], fallback: Path) -> str:
    path = fallback
    if videos and info.get("video_path"):
        key = videos[0]
        path = root / info["video_path"].format(
            video_key=key,
            chunk_index=row[f"videos/{key}/chunk_index"],
            file_index=row[f"videos/{key}/file_index"],
        )
    if not path.exists():
        return ""
    stamp = datetime.datetime.fromtimestamp(path.stat().st_mtime)
    return stamp.strftime("%Y-%m-%d %H:%M")
