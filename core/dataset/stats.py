"""Feature statistics as lerobot 0.6.1 computes them: min, max, mean, std, count, q01…q99.

Per episode, each feature is reduced over its frames; quantiles come from a 5000-bin histogram
spanning [min, max] (lerobot's `RunningQuantileStats`, reproduced here with the same numpy
operations and dtypes, so the numbers match). Camera statistics are per channel, shape (3, 1, 1),
on a /255 scale, over a sample of frames downscaled when large — computed from per-frame
256-bin channel histograms gathered by the camera worker, which gives exactly the numbers the
pixels would; a depth map's are in millimetres, shape (1, 1, 1), from the sampled maps.
Dataset statistics aggregate episode statistics: count-weighted mean, pooled
variance, min of mins, max of maxes, count-weighted quantiles.
"""

from __future__ import annotations

import numpy as np

QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
QUANTILE_KEYS = tuple(f"q{int(q * 100):02d}" for q in QUANTILES)
STAT_KEYS = ("min", "max", "mean", "std", "count", *QUANTILE_KEYS)
NUM_BINS = 5000

Stats = dict[str, np.ndarray]


def sample_indices(length: int) -> list[int]:
    """Which frames of an episode feed the image statistics (lerobot's heuristic)."""
    lo = min(100, length)
    num = max(lo, min(int(length**0.75), 10_000))
    return np.round(np.linspace(0, length - 1, num)).astype(int).tolist()


def downsample_step(height: int, width: int) -> int:
    """Pixel stride used on large frames before their statistics (1: not downscaled)."""
    if max(width, height) < 300:
        return 1
    return int(width / 150) if width > height else int(height / 150)


def _quantile(hist: np.ndarray, edges: np.ndarray, target: float) -> float:
    cumsum = np.cumsum(hist)
    idx = int(np.searchsorted(cumsum, target))
    if idx == 0:
        return edges[0]
    if idx >= len(cumsum):
        return edges[-1]
    before = cumsum[idx - 1]
    in_bin = cumsum[idx] - before
    if in_bin == 0:
        return edges[idx]
    return edges[idx] + (target - before) / in_bin * (edges[idx + 1] - edges[idx])


def _histogram_stats(
    values: np.ndarray, weights: np.ndarray | None, lo: np.ndarray, hi: np.ndarray, count: int
) -> dict[str, np.ndarray]:
    """Quantiles per column from histograms of `values` (optionally weighted)."""
    out: dict[str, list] = {k: [] for k in QUANTILE_KEYS}
    for i in range(len(lo)):
        edges = np.linspace(lo[i] - 1e-10, hi[i] + 1e-10, NUM_BINS + 1)
        column = values[:, i] if values.ndim == 2 else values
        w = None if weights is None else weights[:, i]
        hist = np.zeros(NUM_BINS) + np.histogram(column, bins=edges, weights=w)[0]
        for q, key in zip(QUANTILES, QUANTILE_KEYS, strict=True):
            out[key].append(_quantile(hist, edges, q * count))
    return {k: np.array(v) for k, v in out.items()}


def vector_stats(data: np.ndarray) -> Stats:
    """Statistics of an (n,) or (n, d) array over its first axis."""
    batch = data.reshape(len(data), -1)
    batch = batch.astype(np.result_type(batch.dtype, np.float32), copy=False)
    n = len(batch)
    if n < 2:
        mean = np.mean(batch, axis=0)
        stats = {
            "min": np.min(batch, axis=0),
            "max": np.max(batch, axis=0),
            "mean": mean,
            "std": np.std(batch, axis=0),
            "count": np.array([n]),
        }
        stats.update({k: mean.copy() for k in QUANTILE_KEYS})
        return stats
    mean = np.mean(batch, axis=0)
    mean_sq = np.mean(batch**2, axis=0)
    lo, hi = np.min(batch, axis=0), np.max(batch, axis=0)
    stats = {
        "min": lo,
        "max": hi,
        "mean": mean,
        "std": np.sqrt(np.maximum(0, mean_sq - mean**2)),
        "count": np.array([n]),
    }
    stats.update(_histogram_stats(batch, None, lo, hi, n))
    return stats


def image_stats(channel_hist: np.ndarray, num_frames: int) -> Stats:
    """Statistics of sampled frames from their summed (3, 256) channel histograms."""
    counts = channel_hist.astype(np.float64)  # (3, 256)
    pixels = counts.sum(axis=1)
    levels = np.arange(256, dtype=np.float64)
    mean = (counts * levels).sum(axis=1) / pixels
    mean_sq = (counts * levels**2).sum(axis=1) / pixels
    present = counts > 0
    lo = np.array([levels[p].min() for p in present], dtype=np.float32)
    hi = np.array([levels[p].max() for p in present], dtype=np.float32)
    mean32, mean_sq32 = mean.astype(np.float32), mean_sq.astype(np.float32)
    stats = {
        "min": lo,
        "max": hi,
        "mean": mean32,
        "std": np.sqrt(np.maximum(0, mean_sq32 - mean32**2)),
    }
    values = np.tile(levels.astype(np.float32)[:, None], (1, 3))  # (256, 3)
    if num_frames * int(pixels[0]) < 2:
        stats.update({k: mean32.copy() for k in QUANTILE_KEYS})
    else:
        stats.update(_histogram_stats(values, counts.T, lo, hi, int(pixels[0])))
    out = {k: (v / 255.0).reshape(3, 1, 1) for k, v in stats.items()}
    out["count"] = np.array([num_frames])
    return out


def depth_stats(maps: list[np.ndarray]) -> Stats:
    """Statistics of sampled depth maps (each (h, w) millimetres, downscaled as the pictures
    are), shape (1, 1, 1), in millimetres: lerobot does not rescale a depth map's."""
    pixels = np.concatenate([m.reshape(-1) for m in maps]).astype(np.float32)[:, None]
    stats = vector_stats(pixels)
    out = {k: np.asarray(v).reshape(1, 1, 1) for k, v in stats.items()}
    out["count"] = np.array([len(maps)])
    return out


def aggregate(stats_list: list[Stats]) -> Stats:
    """Combine statistics of disjoint parts (episodes) into statistics of the whole."""
    means = np.stack([s["mean"] for s in stats_list])
    variances = np.stack([s["std"] ** 2 for s in stats_list])
    counts = np.stack([np.asarray(s["count"]) for s in stats_list])
    total = counts.sum(axis=0)
    while counts.ndim < means.ndim:
        counts = np.expand_dims(counts, axis=-1)
    mean = (means * counts).sum(axis=0) / total
    variance = ((variances + (means - mean) ** 2) * counts).sum(axis=0) / total
    out = {
        "min": np.min(np.stack([s["min"] for s in stats_list]), axis=0),
        "max": np.max(np.stack([s["max"] for s in stats_list]), axis=0),
        "mean": mean,
        "std": np.sqrt(variance),
        "count": total,
    }
    for key in QUANTILE_KEYS:
        q = np.stack([s[key] for s in stats_list])
        out[key] = (q * counts).sum(axis=0) / total
    return out


def aggregate_all(dataset: dict[str, Stats], episode: dict[str, Stats]) -> dict[str, Stats]:
    """Dataset statistics with one more episode's statistics folded in."""
    out = {}
    for key in dict.fromkeys([*dataset, *episode]):
        parts = [s[key] for s in (dataset, episode) if key in s]
        out[key] = aggregate(parts)
    return out


def to_lists(stats: dict[str, Stats]) -> dict[str, dict[str, list]]:
    """JSON-ready statistics (stats.json); counts stay integers, everything else is float."""
    out = {}
    for feature, fstats in stats.items():
        out[feature] = {
            k: np.asarray(v, np.int64 if k == "count" else np.float64).tolist()
            for k, v in fstats.items()
        }
    return out


def from_lists(data: dict[str, dict[str, list]]) -> dict[str, Stats]:
    return {f: {k: np.array(v) for k, v in s.items()} for f, s in data.items()}
