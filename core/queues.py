"""A small helper for the queues between threads."""

from __future__ import annotations

import queue
from typing import TypeVar

T = TypeVar("T")


def drain(q: queue.SimpleQueue[T] | queue.Queue[T]) -> list[T]:
    """Everything waiting in `q` now, oldest first, without blocking."""
    out: list[T] = []
    while True:
        try:
            out.append(q.get_nowait())
        except queue.Empty:
            return out
