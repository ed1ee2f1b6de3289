"""How the lerobot 0.6.1 fixtures in `tests/data/lerobot-0.6.1/` were made, and a way to make
them again. Run it with the interop Python (lerobot 0.6.1 installed, Python 3.12; `make interop`):

    ~/.cache/lerecord/lerobot-0.6.1-py3.12/bin/python tests/data/make_fixtures.py OUT
    ~/.cache/lerecord/lerobot-0.6.1-py3.12/bin/python tests/data/make_fixtures.py OUT --check

It writes into OUT (never over the committed files):
- `lerobot_v30_dataset/`: LeRobotDataset.create → add_frame → save_episode → finalize; fps 30,
  robot_type so_follower, the SO arm's six motors, one 64x48 camera `front`; 3 episodes of
  [40, 30, 35] frames, tasks "Pick up the cube" (0, 1) and "Put the cube back" (2); the `images/`
  scratch folder removed, as before an upload.
- `act_policy/`: an ACT checkpoint (ACTPolicy and its pre/post-processors, `save_pretrained`) with
  the small settings of `ACT_SETTINGS`, random weights (seed 0) and random batch-norm statistics,
  normalised with the dataset's stats.
- `act_reference.safetensors`: 43 observations as a robot gives them and lerobot's outputs for them
  (the first whole chunk, and what `select_action` returns at each step after `reset()`).

`--check` compares with the committed fixtures: the dataset's frames (states, actions, indices,
timestamps, tasks) and metadata must be equal (the video is AV1, so its pixels are only close);
the checkpoint's config equal; and lerobot's outputs recomputed from the *committed* checkpoint
must equal the committed reference outputs. Run on 2026-12-01, every frame and decoded video
pixel was identical; the weights are random (so a new checkpoint, and the outputs from it, differ
from the committed one), and so are the few frames lerobot samples for the image statistics in
`meta/stats.json`.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent / "lerobot-0.6.1"
MOTORS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
NAMES = [f"{m}.pos" for m in MOTORS]
HEIGHT, WIDTH, FPS = 48, 64, 30
EPISODES = [(40, "Pick up the cube"), (30, "Pick up the cube"), (35, "Put the cube back")]
ACT_SETTINGS = {
    "dim_model": 64, "n_heads": 4, "dim_feedforward": 128, "n_encoder_layers": 2,
    "n_decoder_layers": 1, "chunk_size": 20, "n_action_steps": 20, "latent_dim": 8,
    "n_vae_encoder_layers": 1,
}  # fmt: skip
REFERENCE_STEPS = 43


def picture(t: float, red_offset: float = 0.0) -> np.ndarray:
    """A moving test pattern (HxWx3 uint8): red waves across, green waves down, blue a ramp."""
    x = np.arange(WIDTH)[None, :]
    y = np.arange(HEIGHT)[:, None]
    red = 128 + 100 * np.sin(x / 7 + 0.3 * t + red_offset) + 0 * y
    green = 128 + 100 * np.cos(y / 5 - 0.2 * t) + 0 * x
    blue = (x + y + round(3 * t)) % 256 + 0.0
    return np.stack([red, green, blue], -1).astype(np.uint8)


def episode_frame(frame: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """(state, action) of one recorded frame: joints on a sine over the episode, the action a
    little ahead of the state."""
    phase = 2 * math.pi * frame / length
    state = [20 * math.sin(j + phase) for j in range(5)] + [50 + 40 * math.sin(phase)]
    state = np.array(state, np.float32)
    return state, state + np.float32(1.5)


def reference_observation(step: int) -> dict[str, np.ndarray]:
    state = [10 * math.sin(j + 0.1 * step) for j in range(5)] + [40 + step]
    return {
        "observation.state": np.array(state, np.float32),
        "observation.images.front": picture(5 * step, red_offset=1.0),
    }


# ---- the three fixtures --------------------------------------------------------------------


def make_dataset(root: Path):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    vector = {"dtype": "float32", "shape": (6,), "names": NAMES}
    features = {
        "action": vector,
        "observation.state": dict(vector),
        "observation.images.front": {
            "dtype": "video",
            "shape": (HEIGHT, WIDTH, 3),
            "names": ["height", "width", "channels"],
        },
    }
    dataset = LeRobotDataset.create(
        "lerecord/fixture", FPS, features, root=root, robot_type="so_follower", use_videos=True
    )
    index = 0
    for length, task in EPISODES:
        for frame in range(length):
            state, action = episode_frame(frame, length)
            dataset.add_frame(
                {
                    "observation.state": state,
                    "action": action,
                    "observation.images.front": picture(index),
                    "task": task,
                }
            )
            index += 1
        dataset.save_episode()
    dataset.finalize()
    shutil.rmtree(root / "images", ignore_errors=True)
    return dataset


def make_checkpoint(dataset, folder: Path) -> None:
    import torch
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.policies.act.modeling_act import ACTPolicy
    from lerobot.policies.factory import make_pre_post_processors
    from lerobot.utils.feature_utils import dataset_to_policy_features

    torch.manual_seed(0)
    features = dataset_to_policy_features(dataset.meta.features)
    config = ACTConfig(
        input_features={k: f for k, f in features.items() if k != "action"},
        output_features={"action": features["action"]},
        device="cpu",
        pretrained_backbone_weights=None,  # random, like the rest (no ImageNet download)
        push_to_hub=False,
        **ACT_SETTINGS,
    )
    policy = ACTPolicy(config)
    for module in policy.modules():  # random statistics, so normalisation layers matter
        if isinstance(module, torch.nn.BatchNorm2d) or "BatchNorm" in type(module).__name__:
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
    policy.save_pretrained(folder)
    pre, post = make_pre_post_processors(config, dataset_stats=dataset.meta.stats)
    pre.save_pretrained(folder)
    post.save_pretrained(folder)


def reference_outputs(folder: Path) -> dict[str, np.ndarray]:
    """lerobot's outputs for the reference observations, from the checkpoint in `folder`."""
    import torch
    from lerobot.policies import prepare_observation_for_inference
    from lerobot.policies.act.modeling_act import ACTPolicy
    from lerobot.policies.factory import make_pre_post_processors

    policy = ACTPolicy.from_pretrained(folder).eval()
    pre, post = make_pre_post_processors(policy.config, pretrained_path=str(folder))
    device = torch.device("cpu")
    out: dict[str, np.ndarray] = {}
    observations = [reference_observation(i) for i in range(REFERENCE_STEPS)]
    for i, obs in enumerate(observations):
        for key, value in obs.items():
            out[f"step{i:03d}.{key}"] = value
    with torch.inference_mode():
        batch = pre(prepare_observation_for_inference(dict(observations[0]), device))
        out["step000.action_chunk"] = post(policy.predict_action_chunk(batch))[0].numpy()
        policy.reset()
        actions = []
        for obs in observations:
            batch = pre(prepare_observation_for_inference(dict(obs), device))
            actions.append(post(policy.select_action(batch))[0].numpy())
    out["select_action_sequence"] = np.stack(actions).astype(np.float32)
    return out


# ---- checking against the committed files --------------------------------------------------


def check(out: Path) -> list[str]:
    import pandas as pd
    from safetensors.numpy import load_file

    problems = []
    data = "lerobot_v30_dataset/data/chunk-000/file-000.parquet"
    new, old = pd.read_parquet(out / data), pd.read_parquet(HERE / data)
    for column in old.columns:
        a, b = np.stack(new[column].to_numpy()), np.stack(old[column].to_numpy())
        if a.shape != b.shape or not np.allclose(a, b, atol=1e-5):
            problems.append(f"dataset column {column} differs")
    info_new = json.loads((out / "lerobot_v30_dataset/meta/info.json").read_text())
    info_old = json.loads((HERE / "lerobot_v30_dataset/meta/info.json").read_text())
    for key in ("codebase_version", "fps", "total_episodes", "total_frames", "total_tasks"):
        if info_new[key] != info_old[key]:
            problems.append(f"info.json {key}: {info_new[key]} != {info_old[key]}")
    if set(info_new["features"]) != set(info_old["features"]):
        problems.append("info.json features differ")
    config_new = json.loads((out / "act_policy/config.json").read_text())
    config_old = json.loads((HERE / "act_policy/config.json").read_text())
    if config_new != config_old:
        problems.append("act_policy/config.json differs")
    committed = load_file(HERE / "act_reference.safetensors")
    again = reference_outputs(HERE / "act_policy")
    for key, value in committed.items():
        if key not in again or not np.allclose(again[key], value, atol=1e-4):
            problems.append(f"act_reference {key} differs when recomputed")
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="an empty folder to write the fixtures into")
    parser.add_argument("--check", action="store_true", help="compare with the committed ones")
    args = parser.parse_args(argv)
    from safetensors.numpy import save_file

    if args.out.resolve() == HERE.resolve():
        parser.error("write somewhere else; compare with --check, then copy by hand")
    args.out.mkdir(parents=True, exist_ok=True)
    dataset = make_dataset(args.out / "lerobot_v30_dataset")
    make_checkpoint(dataset, args.out / "act_policy")
    save_file(reference_outputs(args.out / "act_policy"), args.out / "act_reference.safetensors")
    if not args.check:
        return 0
    problems = check(args.out)
    for problem in problems:
        print(problem, file=sys.stderr)
    print("equivalent to the committed fixtures" if not problems else f"{len(problems)} differ")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
