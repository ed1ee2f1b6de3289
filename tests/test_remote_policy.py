"""The client side of lerobot's policy-server protocol, without the real server: the wire
format, the pickles, a server that cannot be reached, refuses the policy or sends a malicious
reply (a fake gRPC server here: no honest server sends one), and the flags' checks.
The cross-checks against lerobot's own protobuf and pickle classes run in the interop Python.
"""

from __future__ import annotations

import io
import json
import pickle
import textwrap

import numpy as np
import pytest
from dataset_support import FIXTURES
from interop import run_lerobot
from policy_server_support import FakeServer, free_port
from session_support import lerecord, sim_args

from core.policy.remote import payloads, wire
from core.policy.schedule import AGGREGATES, ChunkSchedule

POLICY = FIXTURES / "act_policy"


def _run(tmp_path, *extra: str, timeout: float = 120) -> tuple[int, str, str]:
    args = [a for a in sim_args(tmp_path / "ds") if "--teleop" not in a]
    process = lerecord(*args, f"--policy.path={POLICY}", "--headless=true", *extra, cwd=tmp_path)
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def _nothing_written(tmp_path) -> None:
    assert not (tmp_path / "ds").exists()
    assert not (tmp_path / "inference_logs").exists()


# ---- the wire --------------------------------------------------------------------------------


def test_payloads_are_cut_in_2_mib_chunks_begin_middle_end():
    payload = bytes(range(256)) * (5 * 1024 * 1024 // 256 + 7)
    messages = list(wire.observation_stream(payload))
    states = [wire.fields(msg).get(1, 0) for msg in messages]
    sizes = [len(wire.fields(msg)[2]) for msg in messages]
    assert states == [wire.TRANSFER_BEGIN, wire.TRANSFER_MIDDLE, wire.TRANSFER_END]
    assert sizes == [wire.CHUNK_BYTES, wire.CHUNK_BYTES, len(payload) - 2 * wire.CHUNK_BYTES]
    assert wire.join_observations(iter(messages)) == payload
    (single,) = wire.observation_stream(b"small")
    assert wire.fields(single) == {1: wire.TRANSFER_END, 2: b"small"}
    assert wire.decode_data(wire.encode_data(b"x" * 300)) == b"x" * 300
    assert wire.decode_data(wire.EMPTY) == b""


def test_lerobots_protobuf_classes_read_our_messages_and_we_read_theirs(tmp_path):
    ours = {
        "observation": wire.encode_observation(wire.TRANSFER_MIDDLE, b"\x00\x01" * 200).hex(),
        "setup": wire.encode_data(b"policy").hex(),
    }
    script = tmp_path / "pb.py"
    script.write_text(
        textwrap.dedent(f"""
        import json
        from lerobot.transport import services_pb2 as pb
        ours = {json.dumps(ours)}
        obs = pb.Observation.FromString(bytes.fromhex(ours["observation"]))
        setup = pb.PolicySetup.FromString(bytes.fromhex(ours["setup"]))
        theirs = pb.Actions(data=b"\\x07" * 1000).SerializeToString()
        print(json.dumps([obs.transfer_state, obs.data.hex(), setup.data.hex(), theirs.hex()]))
    """)
    )
    out = run_lerobot([str(script)])
    assert out.returncode == 0, out.stderr[-2000:]
    state, data, setup, theirs = json.loads(out.stdout.strip().splitlines()[-1])
    assert (state, bytes.fromhex(data), bytes.fromhex(setup)) == (2, b"\x00\x01" * 200, b"policy")
    assert wire.decode_data(bytes.fromhex(theirs)) == b"\x07" * 1000


# ---- the pickles -----------------------------------------------------------------------------


def test_our_pickles_are_lerobots_classes_and_its_replies_read_back_without_torch(tmp_path):
    image = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    sent = payloads.TimedObservation(12.5, 7, {"a.pos": 1.5, "front": image, "task": "Pick"}, True)
    setup = payloads.RemotePolicyConfig("act", "/ckpt", {"observation.state": {"names": ["a"]}}, 20)
    (tmp_path / "obs.pickle").write_bytes(payloads.dumps(sent))
    (tmp_path / "setup.pickle").write_bytes(payloads.dumps(setup))
    script = tmp_path / "roundtrip.py"
    script.write_text(
        textwrap.dedent(f"""
        import json, pickle, torch
        from lerobot.async_inference.helpers import (
            RemotePolicyConfig, TimedAction, TimedObservation)
        obs = pickle.load(open({str(tmp_path / "obs.pickle")!r}, "rb"))
        setup = pickle.load(open({str(tmp_path / "setup.pickle")!r}, "rb"))
        assert type(obs) is TimedObservation and type(setup) is RemotePolicyConfig
        print(json.dumps([obs.timestep, obs.must_go, obs.observation["front"].tolist(),
                          obs.observation["task"], setup.actions_per_chunk, setup.device]))
        kinds = [("f32", torch.float32), ("bf16", torch.bfloat16), ("f64", torch.float64),
                 ("strided", torch.float32)]
        for name, dtype in kinds:
            torch.manual_seed(0)
            chunk = (torch.randn(5, 6) * 50).to(dtype)
            if name == "strided":  # each action a strided view (not a plain slice)
                chunk = chunk.t().contiguous().t()
            reply = [TimedAction(timestamp=3.0, timestep=40 + i, action=a)
                     for i, a in enumerate(list(chunk))]
            open({str(tmp_path)!r} + "/" + name + ".pickle", "wb").write(pickle.dumps(reply))
            open({str(tmp_path)!r} + "/" + name + ".json", "w").write(
                json.dumps(chunk.float().tolist()))
    """)
    )
    out = run_lerobot([str(script)], cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    timestep, must_go, front, task, per_chunk, device = json.loads(out.stdout.splitlines()[-1])
    assert (timestep, must_go, task, per_chunk, device) == (7, True, "Pick", 20, "cpu")
    assert np.array_equal(np.array(front, dtype=np.uint8), image)
    for name in ("f32", "bf16", "f64", "strided"):
        actions = payloads.load_actions((tmp_path / f"{name}.pickle").read_bytes())
        expected = np.array(json.loads((tmp_path / f"{name}.json").read_text()), np.float32)
        assert [t for t, _, _ in actions] == [40, 41, 42, 43, 44]
        np.testing.assert_array_equal(np.stack([a for _, _, a in actions]), expected)


class _Runs:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_a_reply_naming_any_other_global_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(payloads.RefusedReply, match="posix.system|nt.system"):
        payloads.load_actions(pickle.dumps([_Runs(marker)]))
    # the same, hidden in a tensor's storage bytes (read by torch.load without weights_only)
    nested = b"".join(pickle.dumps(v, 2) for v in (payloads.LEGACY_MAGIC, 1001, {}))
    nested += pickle.dumps(_Runs(marker), 2)
    outer = (b"\x80\x02ctorch.storage\n_load_from_bytes\n" + pickle.BINBYTES
             + len(nested).to_bytes(4, "little") + nested + b"\x85R.")  # fmt: skip
    with pytest.raises(payloads.RefusedReply, match="system"):
        payloads.load_actions(outer)
    for odd in (pickle.dumps({"not": "a list"}), pickle.dumps([1, 2]), b"\x80\x04junk"):
        with pytest.raises(payloads.RefusedReply):
            payloads.load_actions(odd)
    assert not marker.exists()


def test_a_malicious_server_is_refused_before_any_motor_moves(tmp_path):
    marker = tmp_path / "ran"
    evil = wire.encode_data(pickle.dumps([_Runs(marker)]))
    with FakeServer(lambda: evil) as server:
        code, _, err = _run(tmp_path, f"--policy.server={server.address}")
        assert len(server.setups) == 1 and server.observations  # it got that far
    assert code == 2, err
    (line,) = [ln for ln in err.splitlines() if "error" in ln]
    assert f"policy server {server.address}" in line and "refuses" in line and "system" in line
    assert not marker.exists()
    _nothing_written(tmp_path)


# ---- faults at the start ---------------------------------------------------------------------


def test_no_server_at_the_address_is_one_line_and_exit_2(tmp_path):
    code, _, err = _run(tmp_path, f"--policy.server=127.0.0.1:{free_port()}")
    assert code == 2
    (line,) = [ln for ln in err.splitlines() if ln.strip()]
    assert "no policy server answers at 127.0.0.1:" in line
    assert "lerobot.async_inference.policy_server" in line
    _nothing_written(tmp_path)


def test_a_server_refusing_the_policy_is_one_line_with_its_reason(tmp_path):
    def refuse(setup: bytes):
        raise ValueError("Policy type bogus not supported")

    with FakeServer(lambda: wire.EMPTY, on_setup=refuse) as server:
        code, _, err = _run(tmp_path, f"--policy.server={server.address}", "--policy.type=bogus")
    assert code == 2
    (line,) = [ln for ln in err.splitlines() if ln.strip()]
    assert "refused the policy bogus" in line and "Policy type bogus not supported" in line
    _nothing_written(tmp_path)


@pytest.mark.parametrize(
    "flag, words",
    [
        ("--policy.server=nowhere", "is not HOST:PORT"),
        ("--policy.server=host:99999", "is not HOST:PORT"),
        ("--policy.chunk_size_threshold=1.5", "a fraction from 0 to 1"),
        ("--policy.aggregate=median", "one of weighted_average, latest_only"),
        ("--policy.actions_per_chunk=0", "1 or more"),
    ],
)
def test_bad_policy_server_flags_are_one_line(tmp_path, flag, words):
    extra = [] if flag.startswith("--policy.server") else ["--policy.server=127.0.0.1:1"]
    code, _, err = _run(tmp_path, flag, *extra, timeout=60)
    assert code == 2
    (line,) = [ln for ln in err.splitlines() if ln.strip()]
    assert words in line, line
    _nothing_written(tmp_path)


def test_a_type_lerecord_cannot_run_here_names_both_ways_forward(tmp_path):
    import importlib.util

    assert importlib.util.find_spec("lerobot") is None, "this test needs lerobot absent"
    checkpoint = tmp_path / "diffusion_policy"
    checkpoint.mkdir()
    config = json.loads((POLICY / "config.json").read_text())
    (checkpoint / "config.json").write_text(json.dumps({**config, "type": "diffusion"}))
    args = [a for a in sim_args(tmp_path / "ds") if "--teleop" not in a]
    process = lerecord(*args, f"--policy.path={checkpoint}", "--headless=true", cwd=tmp_path)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    (line,) = [ln for ln in err.splitlines() if ln.strip()]
    assert "policy type 'diffusion'" in line
    assert "pip install 'lerecord[lerobot]'" in line and "Python >= 3.12" in line
    assert "--policy.server=HOST:PORT" in line
    _nothing_written(tmp_path)


# ---- aggregation -----------------------------------------------------------------------------


def test_overlapping_chunks_are_merged_with_lerobots_aggregate_functions():
    old, new = np.full((6, 2), 10.0, np.float32), np.full((6, 2), 20.0, np.float32)
    for name, expected in [("weighted_average", 17.0), ("latest_only", 20.0),
                           ("average", 15.0), ("conservative", 13.0)]:  # fmt: skip
        schedule = ChunkSchedule(6, aggregate=AGGREGATES[name])
        schedule.add(old, 0, 0)
        assert schedule.take(0)[0] == 10.0 and schedule.take(1)[0] == 10.0
        assert schedule.add(new, 1, 2) == 1  # computed at step 1, arrived at 2: one stale
        overlap = [schedule.take(step)[0] for step in range(2, 6)]
        np.testing.assert_allclose(overlap, [expected] * 4, rtol=1e-6)
        assert schedule.take(6)[0] == 20.0  # only the new chunk covers step 6
        assert schedule.take(7) is None


# ---- the runner when the policy is lost ------------------------------------------------------


def test_the_runner_holds_while_the_policy_is_lost_and_resumes_once_it_reconnects(monkeypatch):
    """A policy whose link drops after its first chunk: the arm holds (the last action), every
    step says why, the worker reconnects, and the chunks resume (fresh ones, none played late)."""
    import threading
    import time

    from core.policy import runner as runner_module
    from core.policy.config import PolicyFeature
    from core.policy.policy import Policy, PolicyUnavailable
    from core.policy.runner import PolicyRunner

    monkeypatch.setattr(runner_module, "RETRY_S", 0.05)

    class Flaky(Policy):
        def __init__(self):
            super().__init__({"observation.state": PolicyFeature("STATE", (1,))}, 1, 10, 10)
            self.request_fraction = 0.5
            self.up = threading.Event()
            self.up.set()
            self.reconnects = 0

        def chunk_for(self, observation, step):
            if not self.up.is_set():
                raise PolicyUnavailable("policy server 127.0.0.1:1: gone")
            return np.arange(step, step + 10, dtype=np.float32)[:, None]

        def predict_chunk(self, observation):
            return self.chunk_for(observation, 0)

        def reconnect(self):
            self.reconnects += 1
            if not self.up.is_set():
                raise PolicyUnavailable("policy server 127.0.0.1:1: still gone")

    policy = Flaky()
    runner = PolicyRunner(policy, fps=100)
    obs = {"observation.state": np.zeros(1, np.float32)}
    runner.start_episode(obs)
    policy.up.clear()  # the first chunk is in; the next request will fail
    records = []
    for step in range(60):
        action, record = runner.act(obs, step)
        records.append((step, action, record))
        if step == 30:
            policy.up.set()
        time.sleep(0.01)
    runner.close()
    lost = [r for _, _, r in records if r.link_error]
    assert lost and all("gone" in r.link_error for r in lost)
    held = [(step, action) for step, action, r in records if r.origin == "hold"]
    assert len(held) >= 5 and {r.origin for r in lost} <= {"queue", "hold"}
    assert all(action[0] == 9 for _, action in held[:5])  # the first chunk's last action, held
    assert policy.reconnects >= 2
    assert records[-1][2].link_error is None and records[-1][2].chunks >= 2
    for step, action, record in records:
        if record.origin == "queue":  # an action is only ever the one planned for its step
            assert action[0] == step


@pytest.mark.parametrize("unpickler", [pickle.Unpickler, pickle._Unpickler])
def test_an_observation_with_a_full_camera_frame_reads_back_whole(unpickler):
    """The fields are pickled apart and spliced after lerobot's class name: a 640x480 frame is
    larger than one pickle frame, so the splice must hold across frames, for C and Python."""

    class Stand(unpickler):
        def find_class(self, module, name):  # lerobot's class: a bare one (numpy: its own)
            if (module, name) == (payloads.HELPERS, "TimedObservation"):
                return type(name, (), {})
            return super().find_class(module, name)

    image = np.random.default_rng(1).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    raw = {"shoulder_pan.pos": -3.25, "front": image, "task": "Pick"}
    data = payloads.dumps(payloads.TimedObservation(99.5, 1234, raw, must_go=True))
    read = Stand(io.BytesIO(data)).load()
    assert (read.timestamp, read.timestep, read.must_go) == (99.5, 1234, True)
    assert read.observation["task"] == "Pick" and read.observation["shoulder_pan.pos"] == -3.25
    np.testing.assert_array_equal(read.observation["front"], image)


# ---- GetActions placed before the observation ------------------------------------------------


def _reply(monkeypatch, chunk: np.ndarray, first_step: int) -> bytes:
    """A reply as lerobot's server words it (a list of its `TimedAction`), numpy actions:
    its class made importable under lerobot's name for this test only."""
    import sys
    import types

    for name in ("lerobot", "lerobot.async_inference", payloads.HELPERS):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    timed = type("TimedAction", (), {"__module__": payloads.HELPERS})
    sys.modules[payloads.HELPERS].TimedAction = timed
    actions = []
    for i, action in enumerate(chunk):
        actions.append(timed())
        vars(actions[-1]).update(timestamp=1.0 + i, timestep=first_step + i, action=action)
    return wire.encode_data(pickle.dumps(actions))


def _link(address):
    from core.policy.remote.server import PolicyServer

    return PolicyServer(address, payloads.RemotePolicyConfig("act", "/ckpt", {}, 4))


def _observation(step: int):
    return payloads.TimedObservation(0.0, step, {"a.pos": 1.0, "task": "Pick"}, must_go=True)


def test_get_actions_waits_on_the_server_before_the_observation_lands_and_asks_again(
    monkeypatch,
):
    """The GetActions call is on the server while the observation is still on its way (lerobot's
    waits on its observation queue); one that gave up before the observation (lerobot's
    `obs_queue_timeout`) is asked again, and the chunk is the observation's."""
    import time

    chunk = np.arange(24, dtype=np.float32).reshape(4, 6)
    reply = _reply(monkeypatch, chunk, 7)
    seen: list[int] = []

    def actions():
        seen.append(len(server.observations))
        return reply if server.observations else wire.EMPTY  # no observation: it gives up

    with FakeServer(actions, on_observation=lambda: time.sleep(0.5)) as server:
        link = _link(server.address)
        link.connect()
        pairs = link.chunk(_observation(7))
        link.close()
    assert seen == [0, 1]  # the first call came before the observation, the second after
    assert [step for step, _ in pairs] == [7, 8, 9, 10]
    np.testing.assert_array_equal(np.stack([a for _, a in pairs]), chunk)


def test_a_get_actions_in_flight_when_the_server_dies_does_not_hang():
    import threading

    from core.policy.policy import PolicyUnavailable

    asked, release = threading.Event(), threading.Event()

    def actions():  # a forward that never ends before the server goes
        asked.set()
        release.wait(20)
        return wire.EMPTY

    outcome: list[BaseException] = []
    with FakeServer(actions) as server:
        link = _link(server.address)
        link.connect()

        def exchange():
            try:
                link.chunk(_observation(0))
            except BaseException as error:  # noqa: BLE001 - handed to the test
                outcome.append(error)

        worker = threading.Thread(target=exchange)
        worker.start()
        try:
            assert asked.wait(10) and _until(lambda: server.observations)
            server.server.stop(grace=None)  # the server dies with the call waiting on it
            worker.join(10)
        finally:
            release.set()
    assert not worker.is_alive(), "chunk() hung on a dead server"
    link.close()
    assert len(outcome) == 1 and isinstance(outcome[0], PolicyUnavailable), outcome
    assert f"policy server {server.address}" in str(outcome[0])


def _until(condition, timeout: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
