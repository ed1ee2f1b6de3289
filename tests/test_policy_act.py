"""ACT run by lerecord gives lerobot 0.6.1's own actions for the fixture checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
from policy_fixture import ACT, copy_checkpoint, observation, reference, require_fixture

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def ref():
    require_fixture()
    return reference()


@pytest.fixture(scope="module")
def policy(ref):
    from core.policy import load_policy

    return load_policy(ACT)


def test_first_chunk_matches_lerobot(policy, ref):
    chunk = policy.predict_chunk(observation(ref, 0))
    expected = ref["step000.action_chunk"]
    assert chunk.dtype == np.float32 and chunk.shape == expected.shape == (20, 6)
    np.testing.assert_allclose(chunk, expected, atol=TOLERANCE, rtol=0)
    stats = policy.last_output_stats
    assert stats.min == pytest.approx(float(expected.min()), abs=TOLERANCE)
    assert stats.mean == pytest.approx(float(expected.mean()), abs=TOLERANCE)


def test_select_action_sequence_matches_lerobot(policy, ref):
    policy.reset()
    actions = np.stack([policy.select_action(observation(ref, step)) for step in range(43)])
    np.testing.assert_allclose(actions, ref["select_action_sequence"], atol=TOLERANCE, rtol=0)
    # the queue refills every n_action_steps: steps 20 and 40 start fresh chunks
    assert not np.allclose(actions[20], actions[19], atol=1e-3)


def test_reset_starts_a_new_chunk(policy, ref):
    policy.reset()
    policy.select_action(observation(ref, 0))
    policy.reset()
    first = policy.select_action(observation(ref, 5))
    np.testing.assert_allclose(first, policy.predict_chunk(observation(ref, 5))[0], atol=1e-6)


def test_sync_runner_gives_lerobots_sequence(policy, ref):
    from core.policy import PolicyRunner

    runner = PolicyRunner(policy, fps=30, async_mode=False)
    runner.start_episode()
    actions, steps = [], []
    for step in range(43):
        action, record = runner.act(observation(ref, step), step)
        actions.append(action)
        steps.append(record)
    runner.close()
    np.testing.assert_allclose(np.stack(actions), ref["select_action_sequence"], atol=TOLERANCE)
    forwards = [i for i, s in enumerate(steps) if s.origin == "forward"]
    assert forwards == [0, 20, 40]
    assert all(steps[i].forward_ms > 0 for i in forwards)
    assert steps[1].origin == "queue" and steps[1].forward_ms is None
    assert [s.queue_size for s in steps[:3]] == [19, 18, 17]
    assert steps[5].inputs["state_0"] == pytest.approx(float(ref["step005.observation.state"][0]))


def test_policy_describes_its_inputs_and_outputs(policy):
    assert policy.input_features["observation.state"].shape == (6,)
    assert policy.input_features["observation.images.front"].shape == (3, 48, 64)
    assert policy.input_features["observation.images.front"].type == "VISUAL"
    assert policy.output_names == [f"action_{i}" for i in range(6)]


def test_temporal_ensembling_matches_lerobots_ensembler(tmp_path, ref):
    from core.policy import PolicyRunner, load_policy

    folder = copy_checkpoint(
        tmp_path / "ensembled", {"temporal_ensemble_coeff": 0.01, "n_action_steps": 1}
    )
    policy = load_policy(folder)
    chunks = [policy.predict_chunk(observation(ref, step)) for step in range(3)]
    policy.reset()
    lerobot_style = [policy.select_action(observation(ref, step)) for step in range(6)]
    # step 2 mixes chunk 0 (oldest, weight 1), chunk 1 (e^-0.01) and chunk 2 (e^-0.02)
    w = np.exp(-0.01 * np.arange(3))
    by_hand = (w[0] * chunks[0][2] + w[1] * chunks[1][1] + w[2] * chunks[2][0]) / w.sum()
    np.testing.assert_allclose(lerobot_style[2], by_hand, atol=1e-5)
    runner = PolicyRunner(policy, fps=30, async_mode=False)
    runner.start_episode()
    from_runner = [runner.act(observation(ref, step), step)[0] for step in range(6)]
    runner.close()
    np.testing.assert_allclose(np.stack(from_runner), np.stack(lerobot_style), atol=1e-5)


def test_normalisation_modes_follow_lerobots_formulas():
    import torch

    from core.policy.config import PolicyFeature
    from core.policy.normalize import Normalizer

    features = {
        "observation.state": PolicyFeature("STATE", (2,)),
        "observation.environment_state": PolicyFeature("ENV", (2,)),
        "action": PolicyFeature("ACTION", (2,)),
    }
    stats = {
        "observation.state": {"min": torch.tensor([0.0, 5.0]), "max": torch.tensor([10.0, 5.0])},
        "action": {"mean": torch.tensor([1.0, 2.0]), "std": torch.tensor([2.0, 0.0])},
    }
    modes = {"STATE": "MIN_MAX", "ENV": "IDENTITY", "ACTION": "MEAN_STD"}
    forward = Normalizer(features, modes, stats)
    inverse = Normalizer(features, modes, stats, inverse=True)
    x = torch.tensor([2.5, 5.0])
    # MIN_MAX to [-1, 1]; a zero range counts as eps, so min maps to -1
    assert forward("observation.state", x).tolist() == pytest.approx([-0.5, -1.0])
    assert inverse("observation.state", torch.tensor([0.0, 1.0])).tolist() == pytest.approx(
        [5.0, 5.0]
    )
    assert forward("observation.environment_state", x) is x  # IDENTITY
    # MEAN_STD: (x - mean) / (std + 1e-8) forward, x * std + mean back (no eps)
    assert forward("action", x).tolist() == pytest.approx([0.75, 3.0 / 1e-8])
    assert inverse("action", torch.tensor([1.0, 1.0])).tolist() == pytest.approx([3.0, 2.0])
    # the same normalisations as (x - centre) * scale (the ONNX backend's images, in two passes)
    values = np.array([[2.5, 4.0], [-1.0, 7.5]], dtype=np.float32)
    for name in ("observation.state", "observation.environment_state", "action"):
        centre, scale = forward.centre_scale(name)
        keep = slice(None) if name != "observation.state" else slice(0, 1)  # not a zero range
        np.testing.assert_allclose(
            ((values - centre) * scale)[:, keep],
            forward(name, torch.from_numpy(values)).numpy()[:, keep],
            rtol=1e-6,
        )
