"""Shared by the dataset tests: the SO arm's features, a recording helper, and `check_loadable`,
which performs the checks lerobot 0.6.1's LeRobotDataset makes when it loads a dataset
(info.json, tasks, episodes metadata, data rows, and every video frame found at
`from_timestamp + timestamp` within 1e-4 s)."""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from core.dataset import DatasetRecorder, dataset_features
from core.dataset.layout import read_json

FIXTURES = Path(__file__).resolve().parent / "data/lerobot-0.6.1"
FIXTURE_DATASET = FIXTURES / "lerobot_v30_dataset"
MOTORS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
TOLERANCE_S = 1e-4


def fixture_dataset() -> Path:
    return FIXTURE_DATASET


def so_features(cameras: dict[str, tuple[int, int, int]], video: bool = True) -> dict:
    observation: dict = {f"{m}.pos": float for m in MOTORS}
    observation.update(cameras)
    action = {f"{m}.pos": float for m in MOTORS}
    return dataset_features(observation, action, video=video)


def frame_image(shape: tuple[int, int, int], episode: int, index: int) -> np.ndarray:
    """A frame whose content encodes (episode, index): a band of brightness per frame."""
    h, w, _ = shape
    image = np.zeros(shape, np.uint8)
    image[:, :, 0] = (index * 7) % 256
    image[:, : w // 2, 1] = 40 + 30 * (episode % 6)
    image[h // 2 :, :, 2] = 200
    return image


def record_episode(
    recorder: DatasetRecorder,
    episode: int,
    length: int,
    task: str,
    cameras: dict[str, tuple[int, int, int]],
    fps: float | None = None,
) -> list[np.ndarray]:
    """Add `length` frames (paced at `fps` if given); return the states recorded."""
    recorder.start_episode()
    states = []
    rng = np.random.default_rng(episode)
    for i in range(length):
        state = (rng.normal(size=6) * 20).astype(np.float32)
        states.append(state)
        images = {name: frame_image(shape, episode, i) for name, shape in cameras.items()}
        recorder.add_frame(state, state + 1.5, images, task)
        if fps:
            time.sleep(1 / fps)
    return states


def read_episodes(root: Path) -> pd.DataFrame:
    tables = [pq.read_table(p).to_pandas() for p in sorted(root.glob("meta/episodes/*/*.parquet"))]
    return pd.concat(tables).sort_values("episode_index").reset_index(drop=True)


def check_episode_files(root: Path) -> None:
    """Each episodes-metadata row names the file it is stored in."""
    for path in root.glob("meta/episodes/*/*.parquet"):
        chunk, file = int(path.parent.name[-3:]), int(path.stem[-3:])
        table = pq.read_table(
            path, columns=["meta/episodes/chunk_index", "meta/episodes/file_index"]
        )
        assert set(table.column(0).to_pylist()) == {chunk}, path
        assert set(table.column(1).to_pylist()) == {file}, path


def episode_rows(root: Path) -> list[dict]:
    """The episodes metadata as plain Python rows (nested lists stay lists)."""
    rows = [
        r
        for p in sorted(root.glob("meta/episodes/*/*.parquet"))
        for r in pq.read_table(p).to_pylist()
    ]
    return sorted(rows, key=lambda r: r["episode_index"])


def read_data(root: Path) -> pd.DataFrame:
    tables = [pq.read_table(p).to_pandas() for p in sorted(root.glob("data/*/*.parquet"))]
    return pd.concat(tables).sort_values("index").reset_index(drop=True)


def video_timestamps(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.array([float(f.time) for f in container.decode(video=0)])


def check_loadable(root: Path) -> dict:
    """Fail the test unless lerobot 0.6.1 would load `root`; return the info for more checks."""
    info = read_json(root / "meta/info.json")
    assert info["codebase_version"] == "v3.0"
    assert isinstance(info["fps"], int)
    for key in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
        assert key in info["features"], key
    n_episodes, n_frames, fps = info["total_episodes"], info["total_frames"], info["fps"]
    assert info["splits"] == {"train": f"0:{n_episodes}"}

    tasks = pd.read_parquet(root / "meta/tasks.parquet")
    assert tasks.index.name == "task"
    assert sorted(tasks["task_index"]) == list(range(info["total_tasks"]))

    episodes = read_episodes(root)
    assert list(episodes["episode_index"]) == list(range(n_episodes))
    check_episode_files(root)
    data = read_data(root)
    assert len(data) == n_frames
    assert list(data["index"]) == list(range(n_frames))
    video_keys = [k for k, ft in info["features"].items() if ft["dtype"] == "video"]
    for _, row in episodes.iterrows():
        lo, hi, length = row["dataset_from_index"], row["dataset_to_index"], row["length"]
        assert hi - lo == length
        rows = data.iloc[lo:hi]
        assert (rows["episode_index"] == row["episode_index"]).all()
        assert list(rows["frame_index"]) == list(range(length))
        expected_ts = (np.arange(length) / fps).astype(np.float32)
        assert np.array_equal(rows["timestamp"].to_numpy(), expected_ts)
        data_file = root / info["data_path"].format(
            chunk_index=row["data/chunk_index"], file_index=row["data/file_index"]
        )
        in_file = pq.read_table(data_file, columns=["episode_index"]).column(0).to_pylist()
        assert in_file.count(row["episode_index"]) == length
        for key in video_keys:
            path = root / info["video_path"].format(
                video_key=key,
                chunk_index=row[f"videos/{key}/chunk_index"],
                file_index=row[f"videos/{key}/file_index"],
            )
            start = row[f"videos/{key}/from_timestamp"]
            times = video_timestamps(path)
            end = row[f"videos/{key}/to_timestamp"]
            inside = times[(times >= start - TOLERANCE_S) & (times < end - TOLERANCE_S)]
            assert len(inside) == length, (key, len(inside), length)
            query = start + rows["timestamp"].to_numpy().astype(np.float64)
            gaps = np.abs(query[:, None] - times[None, :]).min(axis=1)
            assert (gaps < TOLERANCE_S).all(), f"{key}: no frame at {query[gaps >= TOLERANCE_S]}"
    return info
