"""Small h264 video files with known pictures, written with PyAV, for the camera tests.

Frame i of a clip: the top-left quadrant red, the rest blue, and a grey square in the middle of
the bottom-right quadrant whose level tells the frame's index (`index_of`). Colours come back
from h264 within a few levels, so the tests compare with a tolerance.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

RED, BLUE = (255, 0, 0), (0, 0, 255)
LEVEL_STEP = 40  # grey level per frame index


def picture(index: int, width: int, height: int) -> np.ndarray:
    image = np.empty((height, width, 3), np.uint8)
    image[:] = BLUE
    image[: height // 2, : width // 2] = RED
    y, x = 3 * height // 4, 3 * width // 4
    image[y - height // 8 : y + height // 8, x - width // 8 : x + width // 8] = (
        LEVEL_STEP * index + 20
    )
    return image


def write_clip(path: Path, frames: int = 6, width: int = 64, height: int = 48, fps: int = 30):
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(picture(i, width, height), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def index_of(image: np.ndarray) -> int:
    """The frame index drawn in an upright picture (see `picture`)."""
    height, width = image.shape[:2]
    level = image[3 * height // 4, 3 * width // 4].astype(int).mean()
    return round((level - 20) / LEVEL_STEP)


def close(pixel: np.ndarray, colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - colour) <= tolerance))
