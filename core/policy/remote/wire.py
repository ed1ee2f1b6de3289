"""The gRPC service `transport.AsyncInference` of lerobot 0.6.1, message by message.

Its four messages are tiny (one bytes field, or a transfer state and a bytes field), so they are
encoded here by hand in protobuf's wire format; grpcio's generic calls carry the bytes. Large
payloads travel as a stream of `Observation` messages of at most 2 MiB each, marked BEGIN, MIDDLE
… END (a payload that fits in one is a single END), as lerobot's `send_bytes_in_chunks` cuts them.
"""

from __future__ import annotations

from collections.abc import Iterator

SERVICE = "transport.AsyncInference"
READY = f"/{SERVICE}/Ready"
SEND_POLICY_INSTRUCTIONS = f"/{SERVICE}/SendPolicyInstructions"
SEND_OBSERVATIONS = f"/{SERVICE}/SendObservations"
GET_ACTIONS = f"/{SERVICE}/GetActions"

CHUNK_BYTES = 2 * 1024 * 1024
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
EMPTY = b""

TRANSFER_UNKNOWN, TRANSFER_BEGIN, TRANSFER_MIDDLE, TRANSFER_END = 0, 1, 2, 3


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _bytes_field(number: int, data: bytes | memoryview, head: bytes = b"") -> bytes:
    """The field after `head`, in one copy of `data` (a camera frame is most of it)."""
    if not data:  # proto3 leaves a default value out
        return head
    return b"".join((head, _varint(number << 3 | 2), _varint(len(data)), data))


def encode_data(data: bytes) -> bytes:
    """`PolicySetup` / `Actions`: `bytes data = 1`."""
    return _bytes_field(1, data)


def encode_observation(transfer_state: int, data: bytes | memoryview) -> bytes:
    """`Observation`: `TransferState transfer_state = 1; bytes data = 2`."""
    head = _varint(1 << 3 | 0) + _varint(transfer_state) if transfer_state else b""
    return _bytes_field(2, data, head)


def fields(message: bytes) -> dict[int, int | bytes]:
    """The fields of a message (the last of a repeated number wins, as protobuf reads it)."""
    out: dict[int, int | bytes] = {}
    view, at = memoryview(message), 0
    while at < len(view):
        key, at = _read_varint(view, at)
        number, kind = key >> 3, key & 7
        if kind == 0:
            out[number], at = _read_varint(view, at)
        elif kind == 2:
            size, at = _read_varint(view, at)
            if at + size > len(view):
                raise ValueError("truncated protobuf message")
            out[number], at = bytes(view[at : at + size]), at + size
        elif kind in (1, 5):
            at += 8 if kind == 1 else 4
        else:
            raise ValueError(f"protobuf wire type {kind} is not used by this service")
    return out


def _read_varint(view: memoryview, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(view) or shift > 63:
            raise ValueError("truncated protobuf varint")
        byte = view[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            return value, at


def decode_data(message: bytes) -> bytes:
    """The `data` of an `Actions` (or `PolicySetup`) message; b"" when absent."""
    value = fields(message).get(1, b"")
    if not isinstance(value, bytes):
        raise ValueError("field 1 is not bytes")
    return value


def observation_stream(payload: bytes) -> Iterator[bytes]:
    """The encoded `Observation` messages carrying `payload`, in lerobot's chunking."""
    size, sent, view = len(payload), 0, memoryview(payload)
    while sent < size:
        if sent + CHUNK_BYTES >= size:
            state = TRANSFER_END
        elif sent == 0:
            state = TRANSFER_BEGIN
        else:
            state = TRANSFER_MIDDLE
        yield encode_observation(state, view[sent : sent + CHUNK_BYTES])
        sent += CHUNK_BYTES


def join_observations(messages: Iterator[bytes]) -> bytes:
    """The payload of a stream of `Observation` messages (lerobot's receiving side)."""
    buffer = bytearray()
    for message in messages:
        parts = fields(message)
        state, data = parts.get(1, TRANSFER_UNKNOWN), parts.get(2, b"")
        if not isinstance(data, bytes):
            raise ValueError("an Observation whose data is not bytes")
        if state == TRANSFER_BEGIN:
            buffer = bytearray(data)
        elif state in (TRANSFER_MIDDLE, TRANSFER_END):
            buffer += data
            if state == TRANSFER_END:
                return bytes(buffer)
        else:
            raise ValueError(f"unknown transfer state {state!r}")
    raise ValueError("the observation stream ended before its END chunk")
