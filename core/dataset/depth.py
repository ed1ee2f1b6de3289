"""Depth maps as lerobot 0.6.1 stores them: millimetres quantised to 12-bit codes (0..4095),
logarithmically by default, then encoded as a one-plane 12-bit video (`gray12le`, HEVC).

The quantiser's settings are `--dataset.depth_encoder.*` (`DepthSettings`): `depth_min` and
`depth_max` (metres) are codes 0 and 4095, `shift` (metres) is added before the logarithm. The
arithmetic is lerobot's, step by step in float32, so a frame gives the same codes here as in
lerobot's `quantize_depth`; `dequantize` is its inverse (millimetres, uint16), as lerobot's
loader returns them. Integer frames are millimetres (lerobot's `depth_unit` "mm").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from core.dataset.video_encoder import DepthSettings

QUANT_BITS = 12
QMAX = (1 << QUANT_BITS) - 1  # 4095
MM_PER_M = 1000.0
UNIT = "mm"  # what a RealSense (and the sim camera) gives: uint16 millimetres


def _scaled(settings: DepthSettings) -> tuple[np.float32, np.float32, np.float32]:
    """depth_min, depth_max and shift in millimetres, as float32 (lerobot's resolved unit)."""
    return (
        np.float32(settings.depth_min * MM_PER_M),
        np.float32(settings.depth_max * MM_PER_M),
        np.float32(settings.shift * MM_PER_M),
    )


def quantize(depth_mm: np.ndarray, settings: DepthSettings) -> np.ndarray:
    """(H, W) uint16 codes in 0..QMAX for an (H, W) or (H, W, 1) depth map in millimetres."""
    depth = np.asarray(depth_mm)
    if depth.ndim == 3:
        depth = depth[..., 0]
    values = depth.astype(np.float32)
    low, high, shift = _scaled(settings)
    if settings.use_log:
        log_low = math.log(float(low + shift))
        log_high = math.log(float(high + shift))
        norm = (np.log(values + shift) - log_low) / (log_high - log_low)
    else:
        norm = (values - low) / (high - low)
    return np.rint(norm * QMAX).clip(0, QMAX).astype(np.uint16)


def dequantize(codes: np.ndarray, settings: DepthSettings) -> np.ndarray:
    """(H, W) uint16 millimetres for (H, W) codes: lerobot's `dequantize_depth` in "mm"."""
    low, high, shift = settings.depth_min, settings.depth_max, settings.shift
    if settings.use_log:
        offset = math.log(low + shift)
        scale = (math.log(high + shift) - offset) / QMAX
    else:
        offset, scale = low, (high - low) / QMAX
    metres = (np.asarray(codes) * scale).astype(np.float32)  # as lerobot: float64, then float32
    metres += np.float32(offset)
    if settings.use_log:
        np.exp(metres, out=metres)
        metres -= np.float32(shift)
    np.clip(metres, low, high, out=metres)
    metres *= np.float32(MM_PER_M)
    return np.clip(np.rint(metres), 0, 65535).astype(np.uint16)


def video_frame(codes: np.ndarray, pix_fmt: str) -> Any:
    """A PyAV frame holding the codes in its one 16-bit plane (rows padded to the stride)."""
    import av

    height, width = codes.shape
    frame = av.VideoFrame(width, height, pix_fmt)
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), dtype=np.uint16).reshape(height, plane.line_size // 2)
    rows[:, :width] = codes
    return frame


def feature_info(settings: DepthSettings) -> dict[str, Any]:
    """The `info` entries of a depth feature that do not come from its video (lerobot writes
    `is_depth_map`, `depth_unit` and the encoder's fields, quantiser included)."""
    return {**settings.info(), "is_depth_map": True, "depth_unit": UNIT}
