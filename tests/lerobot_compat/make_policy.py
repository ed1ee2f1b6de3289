"""Write a lerobot 0.6.1 checkpoint with random weights (no download): config.json, safetensors
weights and the saved pre/post-processors with made-up statistics, as `lerobot-train` saves one.

    python make_policy.py TYPE OUT_DIR [--height H --width W --default-size]

TYPE is act or diffusion; the robot is an SO arm (6 joints) with one camera named `front`.
`--default-size` keeps lerobot's default architecture (ACT: 51.6 M parameters); otherwise the
network is shrunk so tests run fast on a CPU.
"""

import argparse

import torch
from lerobot.configs.types import FeatureType, NormalizationMode, PolicyFeature
from lerobot.policies.factory import get_policy_class, make_policy_config, make_pre_post_processors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("type")
    parser.add_argument("out")
    parser.add_argument("--height", type=int, default=48)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--default-size", action="store_true")
    args = parser.parse_args()
    torch.manual_seed(0)
    inputs = {
        "observation.state": PolicyFeature(FeatureType.STATE, (6,)),
        "observation.images.front": PolicyFeature(FeatureType.VISUAL, (3, args.height, args.width)),
    }
    outputs = {"action": PolicyFeature(FeatureType.ACTION, (6,))}
    small = {}
    if args.type == "act" and not args.default_size:
        small = {
            "dim_model": 64,
            "n_heads": 4,
            "dim_feedforward": 128,
            "n_encoder_layers": 2,
            "n_decoder_layers": 1,
            "chunk_size": 20,
            "n_action_steps": 20,
        }
    if args.type == "diffusion":
        small = {
            "crop_shape": None,
            "down_dims": (64, 128),
            "diffusion_step_embed_dim": 32,
            "num_inference_steps": 4,
            "horizon": 16,
            "n_action_steps": 8,
            "n_obs_steps": 1,
        }
    config = make_policy_config(
        args.type,
        input_features=inputs,
        output_features=outputs,
        device="cpu",
        pretrained_backbone_weights=None,
        push_to_hub=False,
        **small,
    )
    config.normalization_mapping = {
        "VISUAL": NormalizationMode.MEAN_STD,
        "STATE": NormalizationMode.MEAN_STD,
        "ACTION": NormalizationMode.MEAN_STD,
    }
    policy = get_policy_class(args.type)(config)
    stats = {
        "observation.state": {
            "mean": torch.zeros(6),
            "std": torch.full((6,), 30.0),
            "min": torch.full((6,), -100.0),
            "max": torch.full((6,), 100.0),
        },
        "action": {
            "mean": torch.zeros(6),
            "std": torch.full((6,), 30.0),
            "min": torch.full((6,), -100.0),
            "max": torch.full((6,), 100.0),
        },
        "observation.images.front": {
            "mean": torch.full((3, 1, 1), 0.5),
            "std": torch.full((3, 1, 1), 0.25),
            "min": torch.zeros((3, 1, 1)),
            "max": torch.ones((3, 1, 1)),
        },
    }
    pre, post = make_pre_post_processors(config, dataset_stats=stats)
    policy.save_pretrained(args.out)
    pre.save_pretrained(args.out)
    post.save_pretrained(args.out)
    print(sum(p.numel() for p in policy.parameters()))


if __name__ == "__main__":
    main()
