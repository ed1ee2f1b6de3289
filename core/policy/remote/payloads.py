"""The pickles lerobot's policy server exchanges, written and read without lerobot or torch.

Writing: the server unpickles `lerobot.async_inference.helpers.RemotePolicyConfig` and
`TimedObservation`. Stand-ins with the same fields are pickled here as pickle pickles a
dataclass, their class written as that global by name (see `dumps`).

Reading: the server answers a pickled list of `TimedAction(timestamp, timestep, action)`, the
action a torch tensor. Unpickling is code execution, so replies are read by a restricted
unpickler that resolves only the globals such a list needs — `TimedAction`, torch's tensor
rebuild function and its storage loader, `collections.OrderedDict`, numpy's array reconstruction
— each to a function of this module (no torch call is made), and refuses any other global. A
torch storage arrives as bytes of torch's legacy serialisation, which are read the same way.
"""

from __future__ import annotations

import io
import pickle
import struct
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

HELPERS = "lerobot.async_inference.helpers"
PROTOCOL = 4  # what lerobot's `pickle.dumps` writes on Python 3.12
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # torch's legacy serialisation


class RefusedReply(Exception):
    """A reply that is not a plain list of timed actions; nothing in it was run."""


# ---- what lerecord sends -----------------------------------------------------------------------


@dataclass
class RemotePolicyConfig:
    """lerobot's `RemotePolicyConfig`: which policy the server loads, for which features."""

    policy_type: str
    pretrained_name_or_path: str
    lerobot_features: dict[str, dict]
    actions_per_chunk: int
    device: str = "cpu"
    rename_map: dict[str, str] = field(default_factory=dict)


@dataclass
class TimedObservation:
    """lerobot's `TimedObservation`: the robot's raw observation (`<motor>.pos` floats, HxWx3
    uint8 camera images, `task`), stamped with `time.time()` and the step of the latest action."""

    timestamp: float
    timestep: int
    observation: dict[str, Any]
    must_go: bool = False


_WIRE_NAMES = {RemotePolicyConfig: (HELPERS, "RemotePolicyConfig"),
               TimedObservation: (HELPERS, "TimedObservation")}  # fmt: skip


def _short_text(text: str) -> bytes:
    data = text.encode()
    return pickle.SHORT_BINUNICODE + bytes([len(data)]) + data


def dumps(payload: RemotePolicyConfig | TimedObservation) -> bytes:
    """The pickle lerobot's server reads as its own dataclass: what pickle writes for a
    dataclass instance (its class as a global, made without arguments, its `__dict__` set),
    with the class named as lerobot's. The fields are pickled by the C pickler (a camera image
    is copied once); only the class's name is written here (pickle's own would insist on
    importing lerobot)."""
    module, name = _WIRE_NAMES[type(payload)]
    fields = pickle.dumps(vars(payload), protocol=PROTOCOL)
    head = (pickle.PROTO + bytes([PROTOCOL]) + _short_text(module) + _short_text(name)
            + pickle.STACK_GLOBAL + pickle.EMPTY_TUPLE + pickle.NEWOBJ)  # fmt: skip
    # `fields` without its PROTO and STOP: its memo and frames stand alone, as the head has none
    return b"".join((head, memoryview(fields)[2:-1], pickle.BUILD, pickle.STOP))


# ---- what lerecord accepts back ----------------------------------------------------------------


class TimedAction:
    """lerobot's `TimedAction` as read back: `action` is a float32 numpy array."""

    timestamp: float
    timestep: int
    action: Any


@dataclass(frozen=True)
class _Storage:
    """A torch storage read from its legacy bytes: one flat numpy array."""

    data: np.ndarray


_DTYPES: dict[str, Any] = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16", "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}  # fmt: skip


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, meta=None):
    """torch._utils._rebuild_tensor_v2, into numpy (a copy, so the storage can go)."""
    if not isinstance(storage, _Storage):
        raise RefusedReply("a tensor without a storage")
    data = storage.data
    size, stride, offset = tuple(map(int, size)), tuple(map(int, stride)), int(offset)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True)) if all(size) else 0
    if offset < 0 or any(s < 0 for s in stride) or last >= max(len(data), 1):
        raise RefusedReply("a tensor reaching outside its storage")
    if not all(size):
        return np.zeros(size, dtype=data.dtype)
    if len(size) == 1 and stride == (1,):  # an action of a chunk: a slice, copied
        return data[offset : offset + size[0]].copy()
    view = np.lib.stride_tricks.as_strided(
        data[offset:], shape=size, strides=tuple(s * data.itemsize for s in stride)
    )
    return np.array(view)


def _ndarray_reconstruct(cls, shape, dtype_code):
    if cls is not np.ndarray:
        raise RefusedReply("numpy's reconstruction of something else than an array")
    return np.ndarray.__new__(np.ndarray, shape, dtype_code)


def _dtype(name, align=False, copy=False):
    return np.dtype(name, align, copy)


class _Reader(pickle.Unpickler):
    """Resolves only the globals in `allowed`; anything else is refused, never imported."""

    def __init__(self, stream: io.BytesIO, allowed: dict[tuple[str, str], Any]):
        super().__init__(stream)
        self._allowed = allowed

    def find_class(self, module: str, name: str):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise RefusedReply(f"the pickle names {module}.{name}") from None

    def persistent_load(self, pid):
        raise RefusedReply("the pickle refers to an external object")


class _StorageReader(_Reader):
    """torch's legacy format: a pickle whose storages are persistent ids, their bytes after."""

    def __init__(self, stream: io.BytesIO):
        super().__init__(stream, {("torch", name): name for name in _DTYPES})
        self.wanted: dict[str, tuple[str, int]] = {}

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise RefusedReply("an unknown persistent id in a tensor's storage")
        kind, key, numel = pid[1], str(pid[2]), pid[4]
        if kind not in _DTYPES or not isinstance(numel, int) or (len(pid) == 6 and pid[5]):
            raise RefusedReply("a storage of an unknown kind")
        self.wanted[key] = (kind, numel)
        return key


def _load_from_bytes(data: bytes) -> _Storage:
    """torch.storage._load_from_bytes, without torch: magic number, protocol version, system
    info, the storage (a persistent id), the list of storage keys, then each storage's bytes as
    an int64 element count and the raw little-endian data."""
    if not isinstance(data, bytes):
        raise RefusedReply("a storage that is not bytes")
    stream = io.BytesIO(data)
    try:
        magic, _version, info = (_Reader(stream, {}).load() for _ in range(3))
        if magic != LEGACY_MAGIC or not isinstance(info, dict):
            raise RefusedReply("a storage not in torch's legacy format")
        if not info.get("little_endian", True):
            raise RefusedReply("a big-endian storage")
        reader = _StorageReader(stream)
        root = reader.load()
        keys = _Reader(stream, {}).load()
        arrays = {}
        for key in keys:
            kind, numel = reader.wanted[str(key)]
            (count,) = struct.unpack("<q", stream.read(8))
            if count != numel:
                raise RefusedReply("a storage whose size disagrees with its header")
            arrays[str(key)] = _array(_DTYPES[kind], stream.read(count * _itemsize(kind)), count)
        return _Storage(arrays[root])
    except (pickle.UnpicklingError, struct.error, KeyError, TypeError, ValueError, EOFError) as e:
        raise RefusedReply(f"a malformed tensor storage ({e})") from e


def _itemsize(kind: str) -> int:
    dtype = _DTYPES[kind]
    return 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize


def _array(dtype, raw: bytes, count: int) -> np.ndarray:
    if dtype == "bfloat16":  # the top half of a float32
        halves = np.frombuffer(raw, dtype="<u2", count=count).astype(np.uint32)
        return (halves << 16).view(np.float32)
    return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"), count=count).copy()


_REPLY_GLOBALS = {
    (HELPERS, "TimedAction"): TimedAction,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch.storage", "_load_from_bytes"): _load_from_bytes,
    ("collections", "OrderedDict"): OrderedDict,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
    ("numpy._core.multiarray", "_reconstruct"): _ndarray_reconstruct,
    ("numpy.core.multiarray", "_reconstruct"): _ndarray_reconstruct,
}


def load_actions(data: bytes) -> list[tuple[int, float, np.ndarray]]:
    """(timestep, timestamp, action) of each `TimedAction` in a reply, in order.

    Raises RefusedReply for anything but a list of timed actions with 1-D numeric actions.
    """
    storages: dict[bytes, _Storage] = {}

    def load_storage(raw: bytes) -> _Storage:
        # lerobot's server sends each action as a view of the chunk's one storage, so every
        # action carries the same bytes: read them once
        if not isinstance(raw, bytes):
            raise RefusedReply("a storage that is not bytes")
        if raw not in storages:
            storages[raw] = _load_from_bytes(raw)
        return storages[raw]

    allowed = {**_REPLY_GLOBALS, ("torch.storage", "_load_from_bytes"): load_storage}
    try:
        reply = _Reader(io.BytesIO(data), allowed).load()
    except RefusedReply:
        raise
    except Exception as error:  # a malformed pickle: still nothing was run
        raise RefusedReply(f"not a readable pickle ({type(error).__name__}: {error})") from error
    if not isinstance(reply, list) or not all(isinstance(a, TimedAction) for a in reply):
        raise RefusedReply(f"a {type(reply).__name__}, not a list of timed actions")
    out = []
    for timed in reply:
        state = vars(timed)
        action, timestep = state.get("action"), state.get("timestep")
        if not isinstance(action, np.ndarray) or action.ndim != 1 or action.dtype.kind not in "fiu":
            raise RefusedReply("a timed action whose action is not a vector of numbers")
        if not isinstance(timestep, int):
            raise RefusedReply("a timed action without an integer timestep")
        stamp = float(state.get("timestamp", 0.0))
        out.append((timestep, stamp, action.astype(np.float32, copy=False)))  # already a copy
    return out
