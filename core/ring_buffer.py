"""Highlight's memory: the last N seconds of frames, bounded by count and by bytes.

The control thread appends a frame each step (arrays are kept, not copied); when the operator
presses the save key the frames are drained, oldest first, into the dataset's new episode.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BufferedFrame:
    state: np.ndarray
    action: np.ndarray
    images: dict[str, np.ndarray]
    nbytes: int


class RingBuffer:
    def __init__(self, seconds: float, fps: float, max_memory_mb: float):
        self.max_frames = max(1, round(seconds * fps))
        self.max_bytes = int(max_memory_mb * 1024 * 1024)
        self._frames: deque[BufferedFrame] = deque()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._frames)

    def append(self, state: np.ndarray, action: np.ndarray, images: dict[str, np.ndarray]) -> None:
        size = state.nbytes + action.nbytes + sum(i.nbytes for i in images.values())
        self._frames.append(BufferedFrame(state, action, images, size))
        self._bytes += size
        while len(self._frames) > self.max_frames or (
            self._bytes > self.max_bytes and len(self._frames) > 1
        ):
            self._bytes -= self._frames.popleft().nbytes

    def drain(self) -> list[BufferedFrame]:
        """Every frame held, oldest first; the buffer is empty afterwards."""
        frames = list(self._frames)
        self._frames.clear()
        self._bytes = 0
        return frames
