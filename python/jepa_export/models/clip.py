"""The CLIP vision tower (transformers' CLIPVisionModelWithProjection, or the vision half of a
CLIPModel) in TorchScript-compilable form: forward(pixel_values [B, 3, S, S]) -> the projected
image embedding [B, projection_dim], divided by its L2 norm as CLIPModel.get_image_features users
and seed 004's VisionEncoder do.

The computation is transformers' (models/clip/modeling_clip.py): patch embedding (Conv2d without
bias) with the class embedding in front, learnt position embeddings, `pre_layrnorm`, pre-norm
encoder layers (separate q/k/v projections, scaled dot-product attention, `quick_gelu` MLP for
OpenAI's weights), the class token through `post_layernorm`, then `visual_projection`. The
parameter names are the on-disk ones without the `vision_model.` prefix. Only the trained image
size is accepted (as transformers without `interpolate_pos_encoding`).
"""
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import Activation


class CLIPAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = float(self.head_dim ** -0.5)
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.q_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, C = x.shape
        q = self.q_proj(x).view(B, N, -1, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(B, N, -1, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(B, N, -1, self.head_dim).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v, scale=self.scale)
        return self.out_proj(out.transpose(1, 2).reshape(B, N, C))


class CLIPMLP(nn.Module):
    def __init__(self, dim: int, hidden: int, act: str):
        super().__init__()
        self.activation_fn = Activation(act)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.activation_fn(self.fc1(x)))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, dim: int, num_heads: int, hidden: int, act: str, eps: float):
        super().__init__()
        self.self_attn = CLIPAttention(dim, num_heads)
        self.layer_norm1 = nn.LayerNorm(dim, eps=eps)
        self.mlp = CLIPMLP(dim, hidden, act)
        self.layer_norm2 = nn.LayerNorm(dim, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class CLIPEmbeddings(nn.Module):
    def __init__(self, dim: int, image_size: int, patch_size: int, channels: int):
        super().__init__()
        self.class_embedding = nn.Parameter(torch.zeros(dim))
        self.patch_embedding = nn.Conv2d(channels, dim, kernel_size=patch_size, stride=patch_size, bias=False)
        self.position_embedding = nn.Embedding((image_size // patch_size) ** 2 + 1, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patches = self.patch_embedding(x).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        return torch.cat([cls, patches], dim=1) + self.position_embedding.weight.unsqueeze(0)


class CLIPEncoder(nn.Module):
    def __init__(self, dim: int, depth: int, num_heads: int, hidden: int, act: str, eps: float):
        super().__init__()
        self.layers = nn.ModuleList([CLIPEncoderLayer(dim, num_heads, hidden, act, eps) for _ in range(depth)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class CLIPVisionTower(nn.Module):
    def __init__(self, dim: int, depth: int, num_heads: int, hidden: int, image_size: int, patch_size: int,
                 projection_dim: int, act: str = "quick_gelu", eps: float = 1e-5, channels: int = 3):
        super().__init__()
        self.image_size = image_size
        self.input_shape_: List[int] = [channels, image_size, image_size]
        self.embeddings = CLIPEmbeddings(dim, image_size, patch_size, channels)
        self.pre_layrnorm = nn.LayerNorm(dim, eps=eps)
        self.encoder = CLIPEncoder(dim, depth, num_heads, hidden, act, eps)
        self.post_layernorm = nn.LayerNorm(dim, eps=eps)
        self.visual_projection = nn.Linear(dim, projection_dim, bias=False)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        if pixel_values.dim() != 4 or pixel_values.shape[2] != self.image_size or pixel_values.shape[3] != self.image_size:
            raise ValueError("expected an image batch [B, C, H, W] of the size the encoder was built for "
                             "(see input_shape())")
        x = self.pre_layrnorm(self.embeddings(pixel_values))
        x = self.encoder(x)
        pooled = self.post_layernorm(x[:, 0, :])
        embeds = self.visual_projection(pooled)
        return embeds / embeds.norm(p=2, dim=-1, keepdim=True)

    @torch.jit.export
    def input_shape(self) -> List[int]:
        """The input without the batch: [C, H, W]."""
        return self.input_shape_
