"""Building blocks of the JEPA vision transformers, written so that TorchScript compiles them.

Parameter names and the order of the arithmetic are those of the official code, so that a
checkpoint's state dict loads with `strict=True` and the outputs are the same floats:
- facebookresearch/ijepa  src/models/vision_transformer.py (MLP, Attention, Block, PatchEmbed),
  src/masks/utils.py (apply_masks), src/utils/tensors.py (repeat_interleave_batch);
- facebookresearch/jepa   src/models/utils/{modules,patch_embed,pos_embs}.py (SDPA attention,
  PatchEmbed3D, the 3-D sin-cos table with `uniform_power`);
- facebookresearch/vjepa2 src/models/utils/modules.py (RoPEAttention, rotate_queries_or_keys,
  SwiGLUFFN, Block with drop path).
docs/models.md says how each was checked against the official classes.

Deliberate differences, none of which changes an output the official code computes:
- `apply_masks` also takes a 1-D keep-index tensor [K] shared by the batch (jepa-native's
  `JEPA.encode` accepts that form); a 2-D [B, K] mask is gathered exactly as there.
- the attention's dropout is applied in training mode only (the official SDPA call passes its
  dropout probability in evaluation too; every official config sets it to 0).
- typed signatures and explicit loops where TorchScript needs them; `timm`'s drop_path is
  restated (the same formula).
"""
import math
from typing import List, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------------
# Sin-cos position tables (numpy, as the official code computes them)

def sincos_1d_from_grid(embed_dim: int, pos) -> np.ndarray:
    """[M] positions -> [M, embed_dim]: sin of the first half of the frequencies, cos of the second."""
    assert embed_dim % 2 == 0
    omega = np.arange(embed_dim // 2, dtype=float)
    omega /= embed_dim / 2.0
    omega = 1.0 / 10000 ** omega
    pos = pos.reshape(-1)
    out = np.einsum("m,d->md", pos, omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def sincos_2d_ijepa(embed_dim: int, grid_size: int) -> np.ndarray:
    """facebookresearch/ijepa's table: the first half encodes the column, the second the row."""
    grid_h = np.arange(grid_size, dtype=float)
    grid_w = np.arange(grid_size, dtype=float)
    grid = np.stack(np.meshgrid(grid_w, grid_h), axis=0).reshape([2, 1, grid_size, grid_size])
    emb_a = sincos_1d_from_grid(embed_dim // 2, grid[0])
    emb_b = sincos_1d_from_grid(embed_dim // 2, grid[1])
    return np.concatenate([emb_a, emb_b], axis=1)


def sincos_2d_vjepa(embed_dim: int, grid_size: int) -> np.ndarray:
    """facebookresearch/jepa and vjepa2's 2-D table: the first half encodes the row, the second the column."""
    grid_h = np.arange(grid_size, dtype=float)
    grid_w = np.arange(grid_size, dtype=float)
    grid_w, grid_h = np.meshgrid(grid_w, grid_h)
    emb_h = sincos_1d_from_grid(embed_dim // 2, grid_h)
    emb_w = sincos_1d_from_grid(embed_dim // 2, grid_w)
    return np.concatenate([emb_h, emb_w], axis=1)


def sincos_3d(embed_dim: int, grid_size: int, grid_depth: int, uniform_power: bool = False) -> np.ndarray:
    """facebookresearch/jepa and vjepa2's 3-D table, indexed [t, h, w]: time, row, column."""
    grid_d = np.arange(grid_depth, dtype=float)
    grid_h = np.arange(grid_size, dtype=float)
    grid_w = np.arange(grid_size, dtype=float)
    grid_h, grid_d, grid_w = np.meshgrid(grid_h, grid_d, grid_w)
    if not uniform_power:
        h_dim = w_dim = embed_dim // 4
        d_dim = embed_dim // 2
    else:
        h_dim = w_dim = d_dim = int(np.ceil(embed_dim / 6) * 2)
    emb_h = sincos_1d_from_grid(h_dim, grid_h)
    emb_w = sincos_1d_from_grid(w_dim, grid_w)
    emb_d = sincos_1d_from_grid(d_dim, grid_d)
    return np.concatenate([emb_d, emb_h, emb_w], axis=1)[:, :embed_dim]


# ---------------------------------------------------------------------------------------------
# Masks

def apply_masks(x: torch.Tensor, masks: List[torch.Tensor]) -> torch.Tensor:
    """x [B, N, D]; masks: keep-index tensors [B, K] (or [K] shared by the batch).
    Returns [len(masks) * B, K, D], the masks concatenated along the batch."""
    all_x: List[torch.Tensor] = []
    for m in masks:
        if m.dim() == 1:
            m = m.unsqueeze(0).expand(x.size(0), -1)
        mask_keep = m.unsqueeze(-1).repeat(1, 1, x.size(-1))
        all_x.append(torch.gather(x, dim=1, index=mask_keep))
    return torch.cat(all_x, dim=0)


def batch_masks(masks: List[torch.Tensor], batch: int) -> List[torch.Tensor]:
    """The masks as [B, K] tensors (1-D ones repeated over the batch)."""
    out: List[torch.Tensor] = []
    for m in masks:
        if m.dim() == 1:
            m = m.unsqueeze(0).expand(batch, -1)
        out.append(m)
    return out


def repeat_interleave_batch(x: torch.Tensor, B: int, repeat: int) -> torch.Tensor:
    N = x.size(0) // B
    parts: List[torch.Tensor] = []
    for i in range(N):
        for _ in range(repeat):
            parts.append(x[i * B:(i + 1) * B])
    return torch.cat(parts, dim=0)


# ---------------------------------------------------------------------------------------------
# Layers

def drop_path(x: torch.Tensor, drop_prob: float, training: bool) -> torch.Tensor:
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1 - drop_prob
    shape = [x.shape[0]] + [1] * (x.dim() - 1)
    random_tensor = keep_prob + torch.rand(shape, dtype=x.dtype, device=x.device)
    random_tensor.floor_()
    return x.div(keep_prob) * random_tensor


class DropPath(nn.Module):
    def __init__(self, drop_prob: float = 0.0):
        super().__init__()
        self.drop_prob = float(drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop_path(x, self.drop_prob, self.training)


class Activation(nn.Module):
    """The activations the supported configs name: 'gelu' (erf), 'gelu_tanh' (transformers'
    'gelu_new' / 'gelu_pytorch_tanh'), 'quick_gelu' (CLIP: x * sigmoid(1.702 x)), 'silu'."""

    NAMES = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu_tanh": "gelu_tanh",
             "quick_gelu": "quick_gelu", "silu": "silu", "swish": "silu"}

    def __init__(self, name: str = "gelu"):
        super().__init__()
        if name not in self.NAMES:
            raise ValueError(f"unsupported activation {name!r} (supported: {', '.join(sorted(self.NAMES))})")
        self.name = self.NAMES[name]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.name == "gelu_tanh":
            return F.gelu(x, approximate="tanh")
        if self.name == "quick_gelu":
            return x * torch.sigmoid(1.702 * x)
        if self.name == "silu":
            return F.silu(x)
        return F.gelu(x)


class MLP(nn.Module):
    def __init__(self, in_features: int, hidden_features: int, out_features: Optional[int] = None,
                 act: str = "gelu", drop: float = 0.0):
        super().__init__()
        out_features = out_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = Activation(act)
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.fc1(x)
        x = self.act(x)
        x = self.drop(x)
        x = self.fc2(x)
        x = self.drop(x)
        return x


class SwiGLUFFN(nn.Module):
    """facebookresearch/vjepa2's SwiGLUFFN (`use_silu` configs)."""

    def __init__(self, in_features: int, hidden_features: int, out_features: Optional[int] = None,
                 wide_silu: bool = True):
        super().__init__()
        out_features = out_features or in_features
        swiglu_hidden = hidden_features
        if wide_silu:
            swiglu_hidden = int(2 * hidden_features / 3)
            align_as = 8
            swiglu_hidden = (swiglu_hidden + align_as - 1) // align_as * align_as
        self.fc1 = nn.Linear(in_features, swiglu_hidden)
        self.fc2 = nn.Linear(in_features, swiglu_hidden)
        self.fc3 = nn.Linear(swiglu_hidden, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.silu(self.fc1(x)) * self.fc2(x))


def rotate_queries_or_keys(x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """facebookresearch/vjepa2's rotary embedding of one axis (frequencies repeated across the
    halves of the vector, as the released models were trained: the upstream comment's 'subtle bug')."""
    D = x.size(-1)
    omega = torch.arange(D // 2, dtype=x.dtype, device=x.device)
    omega = omega / (D / 2.0)
    omega = 1.0 / torch.pow(10000.0, omega)
    freq = pos.unsqueeze(-1).to(omega.dtype) * omega
    emb_sin = freq.sin()
    emb_cos = freq.cos()
    if emb_sin.dim() < 4:
        emb_sin = emb_sin.reshape([1] * (4 - emb_sin.dim()) + list(emb_sin.shape))
        emb_cos = emb_cos.reshape([1] * (4 - emb_cos.dim()) + list(emb_cos.shape))
    emb_sin = emb_sin.repeat(1, 1, 1, 2)
    emb_cos = emb_cos.repeat(1, 1, 1, 2)
    y = x.unflatten(-1, [-1, 2])
    y1, y2 = y.unbind(dim=-1)
    y = torch.stack((-y2, y1), dim=-1)
    y = y.flatten(-2)
    return (x * emb_cos) + (y * emb_sin)


class Attention(nn.Module):
    """Multi-head self-attention with a fused `qkv` projection.

    - `use_sdpa=False`: the explicit softmax(q k^T * scale) v of facebookresearch/ijepa;
    - `use_sdpa=True`: `F.scaled_dot_product_attention`, as facebookresearch/jepa always calls it
      and vjepa2 does with `use_sdpa` (its default);
    - `use_rope=True`: vjepa2's RoPEAttention: the first three thirds (rounded down to even sizes)
      of each head are rotated by the token's frame, row and column; `mask` holds the tokens'
      positions in the full grid (a keep-index mask), None for every token in order.
    """

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = False, qk_scale: Optional[float] = None,
                 attn_drop: float = 0.0, proj_drop: float = 0.0, use_sdpa: bool = True, use_rope: bool = False,
                 grid_size: int = 16):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = float(qk_scale or self.head_dim ** -0.5)
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop_prob = float(proj_drop)
        self.proj_drop = nn.Dropout(proj_drop)
        self.use_sdpa = use_sdpa
        self.use_rope = use_rope
        self.d_dim = int(2 * ((self.head_dim // 3) // 2))
        self.h_dim = self.d_dim
        self.w_dim = self.d_dim
        self.grid_size = grid_size

    def _rope(self, q: torch.Tensor, k: torch.Tensor, mask: Optional[torch.Tensor], T: Optional[int],
              H_patches: Optional[int], W_patches: Optional[int]):
        N = q.size(2)
        if H_patches is None or W_patches is None:
            tokens_per_frame = self.grid_size * self.grid_size
            tokens_per_row = self.grid_size
        else:
            tokens_per_frame = H_patches * W_patches
            tokens_per_row = W_patches
        if mask is not None:
            ids = mask.unsqueeze(1).repeat(1, self.num_heads, 1)
        elif T is not None and H_patches is not None and W_patches is not None:
            ids = torch.arange(T * H_patches * W_patches, device=q.device)
        else:
            grid_depth = N // (self.grid_size * self.grid_size)
            ids = torch.arange(grid_depth * self.grid_size * self.grid_size, device=q.device)
        frame_ids = torch.div(ids, tokens_per_frame, rounding_mode="floor")
        rest = ids - tokens_per_frame * frame_ids
        height_ids = torch.div(rest, tokens_per_row, rounding_mode="floor")
        width_ids = rest - tokens_per_row * height_ids
        s = 0
        qd = rotate_queries_or_keys(q[..., s:s + self.d_dim], frame_ids)
        kd = rotate_queries_or_keys(k[..., s:s + self.d_dim], frame_ids)
        s += self.d_dim
        qh = rotate_queries_or_keys(q[..., s:s + self.h_dim], height_ids)
        kh = rotate_queries_or_keys(k[..., s:s + self.h_dim], height_ids)
        s += self.h_dim
        qw = rotate_queries_or_keys(q[..., s:s + self.w_dim], width_ids)
        kw = rotate_queries_or_keys(k[..., s:s + self.w_dim], width_ids)
        s += self.w_dim
        if s < self.head_dim:
            q = torch.cat([qd, qh, qw, q[..., s:]], dim=-1)
            k = torch.cat([kd, kh, kw, k[..., s:]], dim=-1)
        else:
            q = torch.cat([qd, qh, qw], dim=-1)
            k = torch.cat([kd, kh, kw], dim=-1)
        return q, k

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None, T: Optional[int] = None,
                H_patches: Optional[int] = None, W_patches: Optional[int] = None) -> torch.Tensor:
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if self.use_rope:
            q, k = self._rope(q, k, mask, T, H_patches, W_patches)
        if self.use_sdpa:
            p = self.proj_drop_prob if self.training else 0.0
            x = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
        else:
            attn = (q @ k.transpose(-2, -1)) * self.scale
            attn = attn.softmax(dim=-1)
            attn = self.attn_drop(attn)
            x = attn @ v
        x = x.transpose(1, 2).reshape(B, N, C)
        x = self.proj(x)
        x = self.proj_drop(x)
        return x


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)), with drop path.
    `swiglu` swaps the MLP for vjepa2's SwiGLUFFN (its `use_silu`)."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = False,
                 qk_scale: Optional[float] = None, drop: float = 0.0, attn_drop: float = 0.0, drop_path: float = 0.0,
                 norm_eps: float = 1e-6, use_sdpa: bool = False, use_rope: bool = False, grid_size: int = 16,
                 swiglu: bool = False, wide_silu: bool = True, act: str = "gelu", mlp_hidden: Optional[int] = None):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = Attention(dim, num_heads=num_heads, qkv_bias=qkv_bias, qk_scale=qk_scale, attn_drop=attn_drop,
                              proj_drop=drop, use_sdpa=use_sdpa, use_rope=use_rope, grid_size=grid_size)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        hidden = mlp_hidden if mlp_hidden is not None else int(dim * mlp_ratio)
        if swiglu:
            self.mlp = SwiGLUFFN(dim, hidden, wide_silu=wide_silu)
        else:
            self.mlp = MLP(dim, hidden, act=act, drop=drop)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None, T: Optional[int] = None,
                H_patches: Optional[int] = None, W_patches: Optional[int] = None) -> torch.Tensor:
        y = self.attn(self.norm1(x), mask, T, H_patches, W_patches)
        x = x + self.drop_path(y)
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x


class PatchEmbed(nn.Module):
    """[B, C, H, W] -> [B, (H/p)*(W/p), D]."""

    def __init__(self, patch_size: int = 16, in_chans: int = 3, embed_dim: int = 768):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class PatchEmbed3D(nn.Module):
    """[B, C, T, H, W] -> [B, (T/t)*(H/p)*(W/p), D], tubelets of t frames."""

    def __init__(self, patch_size: int = 16, tubelet_size: int = 2, in_chans: int = 3, embed_dim: int = 768):
        super().__init__()
        self.proj = nn.Conv3d(in_chans, embed_dim, kernel_size=(tubelet_size, patch_size, patch_size),
                              stride=(tubelet_size, patch_size, patch_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


def drop_path_rates(rate: float, depth: int) -> List[float]:
    """torch.linspace(0, rate, depth) as Python floats (computed without tensors, so that models
    can be built on the meta device)."""
    if depth <= 1:
        return [0.0] * depth
    return [float(np.float32(rate * i / (depth - 1))) for i in range(depth)]


def set_sincos(param: nn.Parameter, table: np.ndarray) -> None:
    """Fills a [1, N, D] position parameter from a numpy table (skipped on the meta device)."""
    if param.device.type == "meta":
        return
    with torch.no_grad():
        param.copy_(torch.from_numpy(table).float().unsqueeze(0))


def interpolate_pos_embed_2d(pos_embed: torch.Tensor, H: int, W: int, patch_size: int) -> torch.Tensor:
    """vjepa2 / jepa image branch: bicubic resize of a square table to (H/p)*(W/p) positions."""
    N = pos_embed.shape[1]
    dim = pos_embed.shape[2]
    npatch = (H // patch_size) * (W // patch_size)
    scale = math.sqrt(npatch / N)
    side = int(math.sqrt(N))
    out = F.interpolate(pos_embed.reshape(1, side, side, dim).permute(0, 3, 1, 2), scale_factor=[scale, scale],
                        mode="bicubic")
    return out.permute(0, 2, 3, 1).reshape(1, -1, dim)
