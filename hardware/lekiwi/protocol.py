"""LeKiwi's network protocol (lerobot 0.6.1), shared by the client, the host and the emulator.

- Commands, client -> host: ZMQ PUSH/PULL on `port_zmq_cmd` (5555), one JSON object per message
  (`{"arm_shoulder_pan.pos": …, "x.vel": …}`); both ends set CONFLATE, so only the newest counts.
- Observations, host -> client: ZMQ PUSH/PULL on `port_zmq_observations` (5556), multipart:
  a JSON header `{"_cams": [names…], <state key>: value, …}` then one JPEG per camera, in the
  header's order. High-water mark 2 at both ends, so a stalled peer gets recent frames only.
- Older hosts (lerobot ≤0.5) send one JSON string with each camera as base64 JPEG under its
  name; `decode_observation` reads both.

JPEG bytes carry the array's channels as they are (encoded as if BGR, decoded as BGR), so an
RGB frame comes out RGB at the other end, as between lerobot's host and client.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import cv2
import numpy as np

JPEG_QUALITY = 90
CAMERAS_KEY = "_cams"


def encode_command(action: dict[str, float]) -> bytes:
    return json.dumps({k: float(v) for k, v in action.items()}).encode()


def decode_command(message: bytes) -> dict[str, float]:
    data = json.loads(message)
    if not isinstance(data, dict):
        raise ValueError(f"a LeKiwi command is a JSON object, got {type(data).__name__}")
    return {str(k): float(v) for k, v in data.items()}


def encode_observation(state: dict[str, float], images: dict[str, np.ndarray]) -> list[bytes]:
    """Multipart frames: JSON header (state + camera order), then one JPEG per camera."""
    names = list(images)
    header = {CAMERAS_KEY: names, **{k: float(v) for k, v in state.items()}}
    frames = [json.dumps(header).encode()]
    for name in names:
        ok, jpeg = cv2.imencode(".jpg", images[name], [int(cv2.IMWRITE_JPEG_QUALITY), JPEG_QUALITY])
        frames.append(jpeg.tobytes() if ok else b"")
    return frames


def decode_jpeg(data: bytes) -> np.ndarray | None:
    if not data:
        return None
    return cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)


def decode_observation(frames: list[bytes]) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """(state, images) from a multipart message or a single legacy JSON+base64 one."""
    header: dict[str, Any] = json.loads(frames[0])
    images: dict[str, np.ndarray] = {}
    if CAMERAS_KEY in header:
        names = header.pop(CAMERAS_KEY)
        for name, data in zip(names, frames[1:], strict=False):
            image = decode_jpeg(data)
            if image is not None:
                images[name] = image
    else:
        for key in [k for k, v in header.items() if isinstance(v, str)]:
            image = decode_jpeg(base64.b64decode(header.pop(key)))
            if image is not None:
                images[key] = image
    state = {k: float(v) for k, v in header.items() if isinstance(v, (int, float))}
    return state, images
