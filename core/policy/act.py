"""The Action Chunking Transformer network, as lerobot's `ACT` module, for inference.

Submodule names match lerobot's so that `model.safetensors` loads with strict key checking. The
VAE encoder is built because checkpoints carry its weights; at inference the latent is zero
(lerobot's eval path) and the VAE encoder is never run.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from core.policy.config import RESNET_DEPTHS, ACTConfig
from core.policy.resnet import ResNetBackbone


def sinusoidal_table(num_positions: int, dimension: int) -> Tensor:
    """1D sinusoidal position embeddings (Attention Is All You Need), shape (positions, dim)."""
    exponents = 2 * (np.arange(dimension) // 2) / dimension
    table = np.arange(num_positions)[:, None] / np.power(10000, exponents)[None, :]
    table[:, 0::2] = np.sin(table[:, 0::2])
    table[:, 1::2] = np.cos(table[:, 1::2])
    return torch.from_numpy(table).float()


def sinusoidal_2d(feature_map: Tensor, dimension: int) -> Tensor:
    """lerobot's ACTSinusoidalPositionEmbedding2d for a (B, C, H, W) map: (1, 2*dimension, H, W)."""
    not_mask = torch.ones_like(feature_map[0, :1])
    y_range = not_mask.cumsum(1, dtype=torch.float32)
    x_range = not_mask.cumsum(2, dtype=torch.float32)
    y_range = y_range / (y_range[:, -1:, :] + 1e-6) * (2 * math.pi)
    x_range = x_range / (x_range[:, :, -1:] + 1e-6) * (2 * math.pi)
    steps = torch.arange(dimension, dtype=torch.float32, device=feature_map.device)
    inverse_frequency = 10000 ** (2 * (steps // 2) / dimension)
    x_range = x_range.unsqueeze(-1) / inverse_frequency
    y_range = y_range.unsqueeze(-1) / inverse_frequency
    pos_x = torch.stack((x_range[..., 0::2].sin(), x_range[..., 1::2].cos()), dim=-1).flatten(3)
    pos_y = torch.stack((y_range[..., 0::2].sin(), y_range[..., 1::2].cos()), dim=-1).flatten(3)
    return torch.cat((pos_y, pos_x), dim=3).permute(0, 3, 1, 2)


def _activation(name: str):
    return F.gelu if name == "gelu" else F.relu


def _next_sublayer(pre_norm: bool, x: Tensor, norm_in, norm_out) -> tuple[Tensor, Tensor]:
    """Close one residual sub-layer and open the next: (the next one's input, its skip).
    Pre-norm normalises the input of each sub-layer; post-norm the output of each."""
    if pre_norm:
        return norm_in(x), x
    x = norm_out(x)
    return x, x


def _feed_forward(layer, x: Tensor, skip: Tensor, norm_out) -> Tensor:
    """A layer's last sub-layer: linear → activation → linear, residual, (post-)norm."""
    x = skip + layer.linear2(layer.activation(layer.linear1(x)))
    return x if layer.pre_norm else norm_out(x)


class EncoderLayer(nn.Module):
    def __init__(self, config: ACTConfig):
        super().__init__()
        d = config.dim_model
        self.self_attn = nn.MultiheadAttention(d, config.n_heads, dropout=config.dropout)
        self.linear1 = nn.Linear(d, config.dim_feedforward)
        self.linear2 = nn.Linear(config.dim_feedforward, d)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.activation = _activation(config.feedforward_activation)
        self.pre_norm = config.pre_norm

    def forward(self, x: Tensor, pos_embed: Tensor | None = None) -> Tensor:
        skip = x
        if self.pre_norm:
            x = self.norm1(x)
        q = k = x if pos_embed is None else x + pos_embed
        x = skip + self.self_attn(q, k, value=x, need_weights=False)[0]
        x, skip = _next_sublayer(self.pre_norm, x, self.norm2, self.norm1)
        return _feed_forward(self, x, skip, self.norm2)


class Encoder(nn.Module):
    def __init__(self, config: ACTConfig, num_layers: int):
        super().__init__()
        self.layers = nn.ModuleList([EncoderLayer(config) for _ in range(num_layers)])
        self.norm = nn.LayerNorm(config.dim_model) if config.pre_norm else nn.Identity()

    def forward(self, x: Tensor, pos_embed: Tensor | None = None) -> Tensor:
        for layer in self.layers:
            x = layer(x, pos_embed)
        return self.norm(x)


class DecoderLayer(nn.Module):
    def __init__(self, config: ACTConfig):
        super().__init__()
        d = config.dim_model
        self.self_attn = nn.MultiheadAttention(d, config.n_heads, dropout=config.dropout)
        self.multihead_attn = nn.MultiheadAttention(d, config.n_heads, dropout=config.dropout)
        self.linear1 = nn.Linear(d, config.dim_feedforward)
        self.linear2 = nn.Linear(config.dim_feedforward, d)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.norm3 = nn.LayerNorm(d)
        self.activation = _activation(config.feedforward_activation)
        self.pre_norm = config.pre_norm

    def forward(self, x: Tensor, memory: Tensor, query_pos: Tensor, memory_pos: Tensor) -> Tensor:
        skip = x
        if self.pre_norm:
            x = self.norm1(x)
        q = k = x + query_pos
        x = skip + self.self_attn(q, k, value=x, need_weights=False)[0]
        x, skip = _next_sublayer(self.pre_norm, x, self.norm2, self.norm1)
        x = self.multihead_attn(
            query=x + query_pos, key=memory + memory_pos, value=memory, need_weights=False
        )[0]
        x, skip = _next_sublayer(self.pre_norm, skip + x, self.norm3, self.norm2)
        return _feed_forward(self, x, skip, self.norm3)


class Decoder(nn.Module):
    def __init__(self, config: ACTConfig):
        super().__init__()
        self.layers = nn.ModuleList([DecoderLayer(config) for _ in range(config.n_decoder_layers)])
        self.norm = nn.LayerNorm(config.dim_model)

    def forward(self, x: Tensor, memory: Tensor, query_pos: Tensor, memory_pos: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x, memory, query_pos, memory_pos)
        return self.norm(x)


class ACT(nn.Module):
    """Inputs (normalised): state (B, S), env state (B, E), images [(B, 3, H, W)] per camera.
    Output: (B, chunk_size, action_dim) normalised actions."""

    def __init__(self, config: ACTConfig):
        super().__init__()
        self.config = config
        d = config.dim_model
        state = config.input_features.get(config.state_feature or "")
        env = config.input_features.get(config.env_state_feature or "")
        if config.use_vae:
            self.vae_encoder = Encoder(config, config.n_vae_encoder_layers)
            self.vae_encoder_cls_embed = nn.Embedding(1, d)
            if state is not None:
                self.vae_encoder_robot_state_input_proj = nn.Linear(state.shape[0], d)
            self.vae_encoder_action_input_proj = nn.Linear(config.action_dim, d)
            self.vae_encoder_latent_output_proj = nn.Linear(d, config.latent_dim * 2)
            tokens = 1 + config.chunk_size + (1 if state is not None else 0)
            self.register_buffer("vae_encoder_pos_enc", sinusoidal_table(tokens, d).unsqueeze(0))
        if config.image_features:
            self.backbone = ResNetBackbone(RESNET_DEPTHS[config.vision_backbone])
        self.encoder = Encoder(config, config.n_encoder_layers)
        self.decoder = Decoder(config)
        if state is not None:
            self.encoder_robot_state_input_proj = nn.Linear(state.shape[0], d)
        if env is not None:
            self.encoder_env_state_input_proj = nn.Linear(env.shape[0], d)
        self.encoder_latent_input_proj = nn.Linear(config.latent_dim, d)
        if config.image_features:
            self.encoder_img_feat_input_proj = nn.Conv2d(self.backbone.out_channels, d, 1)
        n_1d_tokens = 1 + (state is not None) + (env is not None)
        self.encoder_1d_feature_pos_embed = nn.Embedding(n_1d_tokens, d)
        self.decoder_pos_embed = nn.Embedding(config.chunk_size, d)
        self.action_head = nn.Linear(d, config.action_dim)

    def forward(
        self, state: Tensor | None, env_state: Tensor | None, images: list[Tensor]
    ) -> Tensor:
        config = self.config
        reference = images[0] if images else env_state
        batch = reference.shape[0]
        latent = torch.zeros(batch, config.latent_dim, device=reference.device)
        # token blocks (sequence, batch, dim), joined once: lerobot stacks the same tokens one
        # by one, which traces to a thousand tiny ONNX nodes for a camera's 300 tokens
        tokens = [self.encoder_latent_input_proj(latent)[None]]
        pos = [self.encoder_1d_feature_pos_embed.weight.unsqueeze(1)]
        if state is not None:
            tokens.append(self.encoder_robot_state_input_proj(state)[None])
        if env_state is not None:
            tokens.append(self.encoder_env_state_input_proj(env_state)[None])
        for image in images:
            features = self.backbone(image)
            cam_pos = sinusoidal_2d(features, config.dim_model // 2).to(dtype=features.dtype)
            features = self.encoder_img_feat_input_proj(features)
            tokens.append(features.flatten(2).permute(2, 0, 1))  # (h w) b c
            pos.append(cam_pos.flatten(2).permute(2, 0, 1))
        tokens_in = torch.cat(tokens, dim=0)
        pos_in = torch.cat(pos, dim=0)
        memory = self.encoder(tokens_in, pos_embed=pos_in)
        queries = torch.zeros(
            (config.chunk_size, batch, config.dim_model), dtype=pos_in.dtype, device=pos_in.device
        )
        out = self.decoder(queries, memory, self.decoder_pos_embed.weight.unsqueeze(1), pos_in)
        return self.action_head(out.transpose(0, 1))
