"""A recorded dataset has the files, schemas and metadata lerobot 0.6.1 writes (compared with the
fixture lerobot wrote), reads back with pyarrow and `datasets`, and its videos hold exactly one
frame per parquet row at the timestamps the loader asks for."""

from __future__ import annotations

import json

import datasets
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from dataset_support import (
    check_loadable,
    episode_rows,
    fixture_dataset,
    frame_image,
    read_data,
    read_episodes,
    record_episode,
    so_features,
    video_timestamps,
)

from core.dataset import DatasetRecorder
from core.dataset import stats as dstats

CAMERAS = {"front": (48, 64, 3)}
LENGTHS = [40, 30, 35]
TASKS = ["Pick up the cube", "Pick up the cube", "Put the cube back"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Three episodes like the fixture's (same robot, camera, lengths and tasks)."""
    root = tmp_path_factory.mktemp("ds") / "local" / "pick"
    recorder = DatasetRecorder.create(
        root, "local/pick", 30, "so_follower", so_features(CAMERAS), queue_size=200
    )
    states = []
    for episode, (length, task) in enumerate(zip(LENGTHS, TASKS, strict=True)):
        states.append(record_episode(recorder, episode, length, task, CAMERAS))
        written = recorder.save_episode().wait(60)
        assert written.error is None and written.episode_index == episode
    recorder.close()
    return root, states


def test_info_json_matches_lerobot(recorded):
    root, _ = recorded
    ours = json.loads((root / "meta/info.json").read_text())
    theirs = json.loads((fixture_dataset() / "meta/info.json").read_text())
    assert list(ours) == list(theirs)
    assert ours["features"] == theirs["features"]  # same order, entries and video info block
    assert list(ours["features"]) == list(theirs["features"])
    for key in theirs:
        if key != "features":
            assert ours[key] == theirs[key], key
    assert (root / "meta/info.json").read_text().startswith('{\n    "codebase_version"')


def test_parquet_schemas_match_lerobot(recorded):
    root, _ = recorded
    fixture = fixture_dataset()
    for rel in ("data/chunk-000/file-000.parquet", "meta/episodes/chunk-000/file-000.parquet"):
        ours, theirs = pq.read_schema(root / rel), pq.read_schema(fixture / rel)
        if rel.startswith("meta/episodes"):  # lerobot's columns, then lerecord's outcome
            assert ours.names[-1] == "outcome" and str(ours.field("outcome").type) == "string"
            ours = ours.remove(len(ours.names) - 1)
        assert ours.names == theirs.names, rel
        assert ours.remove_metadata() == theirs.remove_metadata(), rel
    ours = pq.read_schema(root / "data/chunk-000/file-000.parquet").metadata[b"huggingface"]
    theirs = pq.read_schema(fixture / "data/chunk-000/file-000.parquet").metadata[b"huggingface"]
    assert json.loads(ours)["info"] == json.loads(theirs)["info"]
    data = pq.ParquetFile(root / "data/chunk-000/file-000.parquet")
    assert [data.metadata.row_group(i).num_rows for i in range(data.num_row_groups)] == LENGTHS


def test_tasks_parquet_has_a_pandas_index_named_task(recorded):
    root, _ = recorded
    ours = pd.read_parquet(root / "meta/tasks.parquet")
    theirs = pd.read_parquet(fixture_dataset() / "meta/tasks.parquet")
    assert ours.index.name == theirs.index.name == "task"
    assert list(ours.index) == list(theirs.index)
    assert list(ours["task_index"]) == [0, 1]
    assert pq.read_schema(root / "meta/tasks.parquet") == pq.read_schema(
        fixture_dataset() / "meta/tasks.parquet"
    ).remove_metadata().with_metadata(pq.read_schema(root / "meta/tasks.parquet").metadata)


def test_rows_read_back_with_pyarrow_and_datasets(recorded):
    root, states = recorded
    data = read_data(root)
    assert len(data) == sum(LENGTHS)
    np.testing.assert_array_equal(np.stack(data["observation.state"]), np.concatenate(states))
    np.testing.assert_array_equal(np.stack(data["action"]), np.concatenate(states) + 1.5)
    assert list(data["episode_index"]) == [e for e, n in enumerate(LENGTHS) for _ in range(n)]
    assert list(data["task_index"]) == [0] * 70 + [1] * 35
    files = [str(p) for p in sorted(root.glob("data/*/*.parquet"))]
    loaded = datasets.load_dataset("parquet", data_files=files, split="train")
    assert loaded.num_rows == sum(LENGTHS)
    assert loaded.features["observation.state"].length == 6
    row = loaded[45]
    assert row["episode_index"] == 1 and row["frame_index"] == 5
    assert row["timestamp"] == pytest.approx(5 / 30)


def test_every_video_frame_decodes_at_its_row_timestamp(recorded):
    root, _ = recorded
    info = check_loadable(root)
    episodes = read_episodes(root)
    for episode, length in enumerate(LENGTHS):
        row = episodes.iloc[episode]
        assert row["videos/observation.images.front/from_timestamp"] == 0.0
        assert row["videos/observation.images.front/to_timestamp"] == pytest.approx(length / 30)
        path = root / info["video_path"].format(
            video_key="observation.images.front", chunk_index=0, file_index=episode
        )
        times = video_timestamps(path)
        np.testing.assert_allclose(times, np.arange(length) / 30, atol=1e-9)


def test_video_content_follows_the_frames(recorded):
    """Decoded frames carry the content recorded at that index (lossy, so roughly)."""
    import av

    root, _ = recorded
    path = root / "videos/observation.images.front/chunk-000/file-001.mp4"
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    for index in (0, 10, 29):
        expected = frame_image(CAMERAS["front"], 1, index)
        assert np.abs(frames[index].astype(int) - expected).mean() < 12


def test_episode_stats_are_the_numbers_of_the_recorded_rows(recorded):
    root, states = recorded
    episodes = episode_rows(root)
    for episode, state in enumerate(states):
        row = episodes[episode]
        state = np.stack(state)
        np.testing.assert_allclose(row["stats/observation.state/min"], state.min(0))
        np.testing.assert_allclose(row["stats/observation.state/max"], state.max(0))
        np.testing.assert_allclose(row["stats/observation.state/mean"], state.mean(0), rtol=1e-5)
        np.testing.assert_allclose(row["stats/observation.state/std"], state.std(0), rtol=1e-4)
        bin_width = (state.max(0) - state.min(0)) / dstats.NUM_BINS
        for q, key in zip(dstats.QUANTILES, dstats.QUANTILE_KEYS, strict=True):
            sample = np.quantile(state, q, axis=0, method="inverted_cdf")  # ceil(q*n)-th value
            stored = np.array(row[f"stats/observation.state/{key}"])
            assert (np.abs(stored - sample) <= bin_width * 1.01 + 1e-6).all(), key
        assert list(row["stats/observation.state/count"]) == [len(state)]
        frames = np.stack([frame_image(CAMERAS["front"], episode, i) for i in range(len(state))])
        mean = np.array(row["stats/observation.images.front/mean"]).reshape(3)
        np.testing.assert_allclose(mean, frames.mean(axis=(0, 1, 2)) / 255, rtol=1e-5)
        low = np.array(row["stats/observation.images.front/min"]).reshape(3)
        np.testing.assert_allclose(low, frames.min(axis=(0, 1, 2)) / 255)


def test_dataset_stats_aggregate_the_episodes(recorded):
    root, states = recorded
    stats = json.loads((root / "meta/stats.json").read_text())
    theirs = json.loads((fixture_dataset() / "meta/stats.json").read_text())
    assert set(stats) == set(theirs)
    for feature in theirs:
        assert list(stats[feature]) == list(theirs[feature])
        for key in theirs[feature]:
            assert np.shape(stats[feature][key]) == np.shape(theirs[feature][key]), (feature, key)
    everything = np.concatenate([np.stack(s) for s in states])
    np.testing.assert_allclose(stats["observation.state"]["mean"], everything.mean(0), atol=1e-4)
    np.testing.assert_allclose(stats["observation.state"]["std"], everything.std(0), rtol=1e-4)
    assert stats["index"]["max"] == [sum(LENGTHS) - 1]
    assert stats["observation.images.front"]["count"] == [sum(LENGTHS)]


def test_stats_reproduce_lerobots_numbers_on_its_own_dataset():
    """Our statistics of the fixture's rows equal the statistics lerobot stored for them."""
    root = fixture_dataset()
    data = read_data(root)
    per_episode = []
    for row in episode_rows(root):
        rows = data[data.episode_index == row["episode_index"]]
        columns = {
            "action": np.stack(rows["action"]).astype(np.float32),
            "observation.state": np.stack(rows["observation.state"]).astype(np.float32),
            "timestamp": rows["frame_index"].to_numpy() / 30,
            "frame_index": rows["frame_index"].to_numpy(),
            "episode_index": rows["episode_index"].to_numpy(),
            "index": rows["index"].to_numpy(),
            "task_index": rows["task_index"].to_numpy(),
        }
        ours = {k: dstats.vector_stats(v) for k, v in columns.items()}
        for feature, fstats in ours.items():
            for key in dstats.STAT_KEYS:
                stored = np.array(row[f"stats/{feature}/{key}"], dtype=np.float64)
                np.testing.assert_array_equal(np.asarray(fstats[key], np.float64), stored)
        per_episode.append(ours)
    total = dstats.aggregate_all(
        dstats.aggregate_all(per_episode[0], per_episode[1]), per_episode[2]
    )
    stored = json.loads((root / "meta/stats.json").read_text())
    for feature, fstats in total.items():
        for key in dstats.STAT_KEYS:
            np.testing.assert_allclose(fstats[key], stored[feature][key], rtol=1e-6, atol=1e-9)
