"""lerobot's real policy server in the interop Python, a recording proxy in front of it, and a
fake server speaking the same gRPC service (for replies no honest server sends).

Everything listens on 127.0.0.1 and is stopped by the fixture that started it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent import futures
from pathlib import Path

import grpc
from interop import lerobot_python

from core.policy.remote import wire

SERVER_START_S = 180  # importing lerobot and torch on a loaded 2-core machine
# Linux: the server is killed with the process that started it (prctl PR_SET_PDEATHSIG, kept
# across exec), so a test run that is itself killed leaves no server behind
ORPHAN_GUARD = (
    ["-c", "import ctypes, os, signal, sys; ctypes.CDLL(None).prctl(1, signal.SIGKILL); "
     "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"]
    if sys.platform == "linux" else []
)  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(address: str, timeout: float, process: subprocess.Popen | None = None):
    channel = grpc.insecure_channel(address)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise AssertionError(f"the policy server exited with {process.returncode}")
            try:
                grpc.channel_ready_future(channel).result(timeout=1.0)
                return
            except grpc.FutureTimeoutError:
                continue
        raise AssertionError(f"no policy server at {address} within {timeout}s")
    finally:
        channel.close()


class LerobotServer:
    """`python -m lerobot.async_inference.policy_server` in the interop env, in `folder`
    (it writes its log file under logs/ there); at `nice`, and SCHED_IDLE with `idle`."""

    def __init__(self, folder: Path, port: int | None = None, nice: int = 0, idle: bool = False):
        self.folder, self.port, self.nice, self.idle = folder, port or free_port(), nice, idle
        self.address = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> LerobotServer:
        log = open(self.folder / f"policy_server_{self.port}.out", "ab")
        self.process = subprocess.Popen(
            [lerobot_python(), *ORPHAN_GUARD, "-m", "lerobot.async_inference.policy_server",
             "--host=127.0.0.1", f"--port={self.port}"],
            cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env=dict(os.environ, HF_HUB_OFFLINE="1"),
        )  # fmt: skip
        if self.nice:  # its threads, made later while it imports torch, inherit this
            os.setpriority(os.PRIO_PROCESS, self.process.pid, self.nice)
        if self.idle:  # SCHED_IDLE: it runs only on cores nothing else wants (inherited too)
            os.sched_setscheduler(self.process.pid, os.SCHED_IDLE, os.sched_param(0))
        wait_until_serving(self.address, SERVER_START_S, self.process)
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def output(self) -> str:
        return (self.folder / f"policy_server_{self.port}.out").read_text(errors="replace")


def _raw(handler):
    return grpc.unary_unary_rpc_method_handler(handler)


class FakeServer:
    """The service `transport.AsyncInference` with the given reply to GetActions (raw bytes of
    an `Actions` message); `on_setup` may raise to refuse the policy; `on_observation` runs
    before an observation is kept (a slow network, say)."""

    def __init__(
        self,
        actions: Callable[[], bytes],
        on_setup: Callable[[bytes], None] = None,
        on_observation: Callable[[], None] = None,
    ):
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.setups: list[bytes] = []
        self.observations: list[bytes] = []

        def setup(request, context):
            self.setups.append(wire.decode_data(request))
            if on_setup is not None:
                on_setup(self.setups[-1])
            return wire.EMPTY

        def observations(requests, context):
            payload = wire.join_observations(requests)
            if on_observation is not None:
                on_observation()
            self.observations.append(payload)
            return wire.EMPTY

        handlers = {
            "Ready": _raw(lambda request, context: wire.EMPTY),
            "SendPolicyInstructions": _raw(setup),
            "SendObservations": grpc.stream_unary_rpc_method_handler(observations),
            "GetActions": _raw(lambda request, context: actions()),
        }
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(wire.SERVICE, handlers),)
        )
        self.server.add_insecure_port(self.address)

    def __enter__(self) -> FakeServer:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop(grace=None)


class RecordingProxy:
    """Passes every call through to `upstream` unchanged, keeping each GetActions reply."""

    def __init__(self, upstream: str):
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.replies: list[bytes] = []
        options = [("grpc.max_receive_message_length", wire.MAX_MESSAGE_BYTES),
                   ("grpc.max_send_message_length", wire.MAX_MESSAGE_BYTES)]  # fmt: skip
        self.channel = grpc.insecure_channel(upstream, options=options)
        ready = self.channel.unary_unary(wire.READY)
        setup = self.channel.unary_unary(wire.SEND_POLICY_INSTRUCTIONS)
        send = self.channel.stream_unary(wire.SEND_OBSERVATIONS)
        get = self.channel.unary_unary(wire.GET_ACTIONS)

        def actions(request, context):
            reply = get(request, timeout=60)
            self.replies.append(reply)
            return reply

        handlers = {
            "Ready": _raw(lambda request, context: ready(request, timeout=60)),
            "SendPolicyInstructions": _raw(lambda request, context: setup(request, timeout=600)),
            "SendObservations": grpc.stream_unary_rpc_method_handler(
                lambda requests, context: send(iter(list(requests)), timeout=60)
            ),
            "GetActions": _raw(actions),
        }
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=options)
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(wire.SERVICE, handlers),)
        )
        self.server.add_insecure_port(self.address)

    def __enter__(self) -> RecordingProxy:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop(grace=None)
        self.channel.close()
