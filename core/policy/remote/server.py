"""One connection to lerobot's policy server: announce, set the policy up, trade observations
for action chunks. Every call has a deadline; a server that does not answer is `PolicyUnavailable`.

The order is lerobot's robot client's: `Ready` (the server forgets any previous client's state),
`SendPolicyInstructions` (it loads the policy: the first time may take minutes), then per chunk
`SendObservations` (one pickled `TimedObservation`, chunked) and `GetActions` (a pickled list of
`TimedAction`; empty when the server had no observation in time or failed on it). lerecord
places the `GetActions` call before sending the observation: the server's call waits (up to its
`obs_queue_timeout`, 2 s by default) for the observation to be queued, then predicts at once.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from core.policy.policy import PolicyUnavailable
from core.policy.remote import payloads, wire
from hardware.errors import ConfigError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 3.0
SETUP_TIMEOUT_S = 600.0  # loading a large VLA on the server the first time
CALL_TIMEOUT_S = 30.0


class PolicyServer:
    """lerobot's `transport.AsyncInference` service at `address` ("host:port")."""

    def __init__(self, address: str, setup: payloads.RemotePolicyConfig):
        self.address = address
        self.setup = setup
        self._channel = None

    def _calls(self):
        import grpc

        options = [
            ("grpc.max_receive_message_length", wire.MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", wire.MAX_MESSAGE_BYTES),
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 1000),
        ]
        channel = grpc.insecure_channel(self.address, options=options)
        try:
            grpc.channel_ready_future(channel).result(timeout=CONNECT_TIMEOUT_S)
        except grpc.FutureTimeoutError:
            channel.close()
            raise PolicyUnavailable(
                f"no policy server answers at {self.address} (start one there with "
                "`python -m lerobot.async_inference.policy_server --host=… --port=…`)"
            ) from None
        self._channel = channel
        self._ready = channel.unary_unary(wire.READY)
        self._instructions = channel.unary_unary(wire.SEND_POLICY_INSTRUCTIONS)
        self._observations = channel.stream_unary(wire.SEND_OBSERVATIONS)
        self._actions = channel.unary_unary(wire.GET_ACTIONS)

    def connect(self) -> float:
        """Announce lerecord and have the policy loaded; returns the seconds it took.

        PolicyUnavailable when the server cannot be reached; ConfigError when it refuses the
        policy (its reason, as the server words it).
        """
        import grpc

        self.close()
        started = time.perf_counter()
        self._calls()
        try:
            self._ready(wire.EMPTY, timeout=CALL_TIMEOUT_S)
            self._instructions(
                wire.encode_data(payloads.dumps(self.setup)), timeout=SETUP_TIMEOUT_S
            )
        except grpc.RpcError as error:
            if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                why = error.details()
                raise PolicyUnavailable(f"policy server {self.address}: {why}") from None
            raise ConfigError(
                f"policy server {self.address} refused the policy "
                f"{self.setup.policy_type} {self.setup.pretrained_name_or_path}: "
                f"{_reason(error.details())}"
            ) from None
        return time.perf_counter() - started

    def chunk(self, observation: payloads.TimedObservation) -> list[tuple[int, np.ndarray]]:
        """Send one observation and return the chunk the server predicts from it, as
        (timestep, action) pairs. An empty answer is PolicyUnavailable (a restarted server
        has no policy; a failing one says why in its log)."""
        import grpc

        if self._channel is None:
            raise PolicyUnavailable(f"policy server {self.address}: not connected")
        data = payloads.dumps(observation)
        # GetActions first: the server's call waits on its observation queue, so the forward
        # starts the moment the observation is queued, not one more call later
        waiting = self._actions.future(wire.EMPTY, timeout=CALL_TIMEOUT_S)
        try:
            self._observations(wire.observation_stream(data), timeout=CALL_TIMEOUT_S)
            early = waiting.done()  # answered before the observation was in: it timed out
            reply = wire.decode_data(waiting.result())
            if not reply and early:
                reply = wire.decode_data(self._actions(wire.EMPTY, timeout=CALL_TIMEOUT_S))
        except grpc.RpcError as error:
            raise PolicyUnavailable(f"policy server {self.address}: {error.details()}") from None
        finally:
            waiting.cancel()  # a no-op once answered
        if not reply:
            raise PolicyUnavailable(
                f"policy server {self.address} answered without actions "
                "(restarted, or it failed on the observation: see its log)"
            )
        try:
            actions = payloads.load_actions(reply)
        except payloads.RefusedReply as refused:
            raise payloads.RefusedReply(
                f"policy server {self.address} sent a reply lerecord refuses to run: {refused}"
            ) from None
        return [(timestep, action) for timestep, _, action in actions]

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None


def _reason(details: str | None) -> str:
    """grpcio words a server exception as 'Exception calling application: <its message>'."""
    text = (details or "no reason given").strip()
    return text.removeprefix("Exception calling application:").strip()
