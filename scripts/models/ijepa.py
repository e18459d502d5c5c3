"""I-JEPA and V-JEPA reference models (used only to make TorchScript files and expected outputs).

The ViT encoder and predictor follow facebookresearch/ijepa (src/models/vision_transformer.py,
src/masks/utils.py, src/utils/tensors.py) as restated in seed 002: masks are *keep-index* masks,
a list of int64 tensors of shape [B, K] holding the patch indices to keep (the seed's notebook
also accepts 1-D [K] tensors shared by the batch; both work here). V-JEPA swaps the 2-D patch
embedding for the 3-D tubelet embedding of seed 002 (Conv3d with kernel (tubelet, p, p)) and the
2-D sin-cos position embedding for the 3-D one of facebookresearch/jepa.

Differences from the official code, all without effect on the outputs at the trained size:
- the official `interpolate_pos_encoding` (bicubic resize of the position embedding for other
  image sizes) is left out: the models take the image size they were built for;
- every method is TorchScript-compatible (typed signatures, explicit loops).
"""
import math
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------------
# Position embeddings (numpy, as in the official code)

def get_1d_sincos_pos_embed_from_grid(embed_dim, pos):
    assert embed_dim % 2 == 0
    omega = np.arange(embed_dim // 2, dtype=float)
    omega /= embed_dim / 2.0
    omega = 1.0 / 10000 ** omega
    pos = pos.reshape(-1)
    out = np.einsum("m,d->md", pos, omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def get_2d_sincos_pos_embed(embed_dim, grid_size):
    grid_h = np.arange(grid_size, dtype=float)
    grid_w = np.arange(grid_size, dtype=float)
    grid = np.meshgrid(grid_w, grid_h)  # w goes first
    grid = np.stack(grid, axis=0).reshape([2, 1, grid_size, grid_size])
    emb_h = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[0])
    emb_w = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[1])
    return np.concatenate([emb_h, emb_w], axis=1)


def get_3d_sincos_pos_embed(embed_dim, grid_size, grid_depth):
    """facebookresearch/jepa src/models/utils/pos_embs.py (uniform_power=False)."""
    grid_d = np.arange(grid_depth, dtype=float)
    grid_h = np.arange(grid_size, dtype=float)
    grid_w = np.arange(grid_size, dtype=float)
    grid_h, grid_d, grid_w = np.meshgrid(grid_h, grid_d, grid_w)  # index as [d, h, w]
    h_dim = embed_dim // 4
    w_dim = embed_dim // 4
    d_dim = embed_dim // 2
    emb_h = get_1d_sincos_pos_embed_from_grid(h_dim, grid_h)
    emb_w = get_1d_sincos_pos_embed_from_grid(w_dim, grid_w)
    emb_d = get_1d_sincos_pos_embed_from_grid(d_dim, grid_d)
    pos = np.concatenate([emb_d, emb_h, emb_w], axis=1)
    return pos[:, :embed_dim]


# ---------------------------------------------------------------------------------------------
# Masks

def apply_masks(x: torch.Tensor, masks: List[torch.Tensor]) -> torch.Tensor:
    """x: [B, N, D]; masks: list of [B, K] (or [K]) int64 indices of the patches to keep.
    Returns [len(masks) * B, K, D] (masks concatenated along the batch, as the official code)."""
    all_x: List[torch.Tensor] = []
    for m in masks:
        if m.dim() == 1:
            m = m.unsqueeze(0).expand(x.size(0), -1)
        keep = m.unsqueeze(-1).expand(-1, -1, x.size(-1))
        all_x.append(torch.gather(x, dim=1, index=keep))
    return torch.cat(all_x, dim=0)


def repeat_interleave_batch(x: torch.Tensor, B: int, repeat: int) -> torch.Tensor:
    N = x.size(0) // B
    parts: List[torch.Tensor] = []
    for i in range(N):
        for _ in range(repeat):
            parts.append(x[i * B:(i + 1) * B])
    return torch.cat(parts, dim=0)


# ---------------------------------------------------------------------------------------------
# Building blocks

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
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop_path(x, self.drop_prob, self.training)


class MLP(nn.Module):
    def __init__(self, in_features, hidden_features=None, out_features=None, drop=0.0):
        super().__init__()
        out_features = out_features or in_features
        hidden_features = hidden_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.act(self.fc1(x)))
        return self.drop(self.fc2(x))


class Attention(nn.Module):
    def __init__(self, dim, num_heads=8, qkv_bias=False, qk_scale=None, attn_drop=0.0, proj_drop=0.0):
        super().__init__()
        self.num_heads = num_heads
        head_dim = dim // num_heads
        self.scale = float(qk_scale or head_dim ** -0.5)
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = attn.softmax(dim=-1)
        attn = self.attn_drop(attn)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        x = self.proj_drop(self.proj(x))
        return x, attn


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0, qkv_bias=False, qk_scale=None, drop=0.0, attn_drop=0.0,
                 drop_path=0.0, norm_layer=nn.LayerNorm):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = Attention(dim, num_heads=num_heads, qkv_bias=qkv_bias, qk_scale=qk_scale,
                              attn_drop=attn_drop, proj_drop=drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = MLP(in_features=dim, hidden_features=int(dim * mlp_ratio), drop=drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.attn(self.norm1(x))
        x = x + self.drop_path(y)
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x


class PatchEmbed(nn.Module):
    """[B, C, H, W] -> [B, (H/p)*(W/p), D]."""

    def __init__(self, img_size=224, patch_size=16, in_chans=3, embed_dim=768):
        super().__init__()
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class PatchEmbed3D(nn.Module):
    """Seed 002 / V-JEPA: [B, C, T, H, W] -> [B, (T/t)*(H/p)*(W/p), D] with tubelets of t frames."""

    def __init__(self, patch_size=16, tubelet_size=2, in_chans=3, embed_dim=768):
        super().__init__()
        self.proj = nn.Conv3d(in_chans, embed_dim, kernel_size=(tubelet_size, patch_size, patch_size),
                              stride=(tubelet_size, patch_size, patch_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


def _init_weights(m, init_std):
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=init_std)
        if m.bias is not None:
            nn.init.constant_(m.bias, 0)
    elif isinstance(m, nn.LayerNorm):
        nn.init.constant_(m.bias, 0)
        nn.init.constant_(m.weight, 1.0)
    elif isinstance(m, (nn.Conv2d, nn.Conv3d)):
        nn.init.trunc_normal_(m.weight, std=init_std)
        if m.bias is not None:
            nn.init.constant_(m.bias, 0)


def _rescale_blocks(blocks):
    for layer_id, layer in enumerate(blocks):
        layer.attn.proj.weight.data.div_(math.sqrt(2.0 * (layer_id + 1)))
        layer.mlp.fc2.weight.data.div_(math.sqrt(2.0 * (layer_id + 1)))


def _pos_embed(embed_dim, img_size, patch_size, num_frames, tubelet_size):
    grid = img_size // patch_size
    if num_frames > 1:
        pos = get_3d_sincos_pos_embed(embed_dim, grid, num_frames // tubelet_size)
    else:
        pos = get_2d_sincos_pos_embed(embed_dim, grid)
    return torch.from_numpy(pos).float().unsqueeze(0)


# ---------------------------------------------------------------------------------------------
# Encoder and predictor

class VisionTransformer(nn.Module):
    """I-JEPA context/target encoder (num_frames == 1) or V-JEPA encoder (num_frames > 1).
    forward(x, masks=None): x is [B, C, H, W] (or [B, C, T, H, W] for video); masks a list of
    keep-index tensors. Returns [len(masks) * B, K, D] (or [B, N, D] without masks)."""

    def __init__(self, img_size=224, patch_size=16, num_frames=1, tubelet_size=2, in_chans=3, embed_dim=768,
                 depth=12, num_heads=12, mlp_ratio=4.0, qkv_bias=True, qk_scale=None, drop_rate=0.0,
                 attn_drop_rate=0.0, drop_path_rate=0.0, norm_layer=nn.LayerNorm, init_std=0.02):
        super().__init__()
        self.embed_dim = embed_dim
        self.input_shape_: List[int] = [in_chans, num_frames, img_size, img_size] if num_frames > 1 else [
            in_chans, img_size, img_size]
        if num_frames > 1:
            self.patch_embed = PatchEmbed3D(patch_size, tubelet_size, in_chans, embed_dim)
        else:
            self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim)
        pos = _pos_embed(embed_dim, img_size, patch_size, num_frames, tubelet_size)
        self.pos_embed = nn.Parameter(pos, requires_grad=False)
        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, depth)]
        self.blocks = nn.ModuleList([
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias, qk_scale, drop_rate, attn_drop_rate, dpr[i], norm_layer)
            for i in range(depth)])
        self.norm = norm_layer(embed_dim)
        self.apply(lambda m: _init_weights(m, init_std))
        _rescale_blocks(self.blocks)

    def forward(self, x: torch.Tensor, masks: Optional[List[torch.Tensor]] = None) -> torch.Tensor:
        x = self.patch_embed(x)
        x = x + self.pos_embed
        if masks is not None:
            x = apply_masks(x, masks)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)

    @torch.jit.export
    def input_shape(self) -> List[int]:
        """The input this encoder takes, without the batch: [C, H, W] or [C, T, H, W]."""
        return self.input_shape_


class VisionTransformerPredictor(nn.Module):
    """I-JEPA / V-JEPA predictor: forward(x, masks_x, masks) with x the context encoder's output
    [len(masks_x) * B, K, D], masks_x the context keep-indices and masks the target keep-indices.
    Returns the predictions of the target tokens, [len(masks) * len(masks_x) * B, Kt, D]."""

    def __init__(self, img_size=224, patch_size=16, num_frames=1, tubelet_size=2, embed_dim=768,
                 predictor_embed_dim=384, depth=6, num_heads=12, mlp_ratio=4.0, qkv_bias=True, qk_scale=None,
                 drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0, norm_layer=nn.LayerNorm, init_std=0.02,
                 num_mask_tokens=0, zero_init_mask_tokens=True):
        super().__init__()
        self.predictor_embed = nn.Linear(embed_dim, predictor_embed_dim, bias=True)
        # I-JEPA: one trunc-normal `mask_token`; V-JEPA (num_mask_tokens > 0, see
        # MultiMaskPredictor): `mask_tokens`, one per mask config, zero-initialised unless
        # zero_init_mask_tokens is False (facebookresearch/jepa src/models/predictor.py).
        self.num_mask_tokens = num_mask_tokens
        if num_mask_tokens > 0:
            self.mask_tokens = nn.ParameterList(
                [nn.Parameter(torch.zeros(1, 1, predictor_embed_dim)) for _ in range(num_mask_tokens)])
        else:
            self.mask_token = nn.Parameter(torch.zeros(1, 1, predictor_embed_dim))
        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, depth)]
        pos = _pos_embed(predictor_embed_dim, img_size, patch_size, num_frames, tubelet_size)
        self.predictor_pos_embed = nn.Parameter(pos, requires_grad=False)
        self.predictor_blocks = nn.ModuleList([
            Block(predictor_embed_dim, num_heads, mlp_ratio, qkv_bias, qk_scale, drop_rate, attn_drop_rate, dpr[i],
                  norm_layer)
            for i in range(depth)])
        self.predictor_norm = norm_layer(predictor_embed_dim)
        self.predictor_proj = nn.Linear(predictor_embed_dim, embed_dim, bias=True)
        if num_mask_tokens == 0:
            nn.init.trunc_normal_(self.mask_token, std=init_std)
        elif not zero_init_mask_tokens:
            for t in self.mask_tokens:
                nn.init.trunc_normal_(t, std=init_std)
        self.apply(lambda m: _init_weights(m, init_std))
        _rescale_blocks(self.predictor_blocks)

    def forward(self, x: torch.Tensor, masks_x: List[torch.Tensor], masks: List[torch.Tensor]) -> torch.Tensor:
        return self.predict(x, masks_x, masks, self.mask_token)

    def predict(self, x: torch.Tensor, masks_x: List[torch.Tensor], masks: List[torch.Tensor],
                mask_token: torch.Tensor) -> torch.Tensor:
        B = x.size(0) // len(masks_x)
        x = self.predictor_embed(x)
        x_pos_embed = self.predictor_pos_embed.repeat(B, 1, 1)
        x = x + apply_masks(x_pos_embed, masks_x)
        N_ctxt = x.size(1)
        pos_embs = self.predictor_pos_embed.repeat(B, 1, 1)
        pos_embs = apply_masks(pos_embs, masks)
        pos_embs = repeat_interleave_batch(pos_embs, B, repeat=len(masks_x))
        pred_tokens = mask_token.repeat(pos_embs.size(0), pos_embs.size(1), 1)
        pred_tokens = pred_tokens + pos_embs
        x = x.repeat(len(masks), 1, 1)
        x = torch.cat([x, pred_tokens], dim=1)
        for blk in self.predictor_blocks:
            x = blk(x)
        x = self.predictor_norm(x)
        x = x[:, N_ctxt:]
        return self.predictor_proj(x)


class MultiMaskPredictor(VisionTransformerPredictor):
    """V-JEPA's predictor with one mask token per mask config: forward(x, masks_x, masks,
    mask_index=1) predicts with token `mask_index % num_mask_tokens`, as the official predictor
    (PredictorMultiMaskWrapper passes the config's index; V-JEPA 2's wrapper the clip-length
    group's)."""

    def forward(self, x: torch.Tensor, masks_x: List[torch.Tensor], masks: List[torch.Tensor],
                mask_index: int = 1) -> torch.Tensor:
        index = mask_index % self.num_mask_tokens
        token = x
        for i, t in enumerate(self.mask_tokens):
            if i == index:
                token = t
        return self.predict(x, masks_x, masks, token)


def vit(img_size, patch_size, embed_dim, depth, num_heads, num_frames=1, tubelet_size=2, **kw):
    from functools import partial
    return VisionTransformer(img_size=img_size, patch_size=patch_size, num_frames=num_frames,
                             tubelet_size=tubelet_size, embed_dim=embed_dim, depth=depth, num_heads=num_heads,
                             mlp_ratio=4, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6), **kw)


def vit_predictor(img_size, patch_size, embed_dim, predictor_embed_dim, depth, num_heads, num_frames=1,
                  tubelet_size=2, **kw):
    from functools import partial
    cls = MultiMaskPredictor if kw.get("num_mask_tokens", 0) > 0 else VisionTransformerPredictor
    return cls(img_size=img_size, patch_size=patch_size, num_frames=num_frames,
                                      tubelet_size=tubelet_size, embed_dim=embed_dim,
                                      predictor_embed_dim=predictor_embed_dim, depth=depth, num_heads=num_heads,
                                      mlp_ratio=4, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6), **kw)


def vit_tiny(img_size=224, patch_size=16, **kw):
    """Seed 002's `vit_tiny`: ViT-Tiny (192 wide, 12 blocks, 3 heads, MLP ratio 4, qkv bias,
    LayerNorm eps 1e-6), the notebook's context encoder (its target encoder is a deep copy)."""
    return vit(img_size=img_size, patch_size=patch_size, embed_dim=192, depth=12, num_heads=3, **kw)


def vit_tiny_predictor(img_size=224, patch_size=16, **kw):
    """Seed 002's `vit_predictor` for `vit_tiny`: 384 wide, 6 blocks, 12 heads. The notebook leaves
    its `embed_dim` at the class default 768, which does not fit the 192-wide encoder; here it is
    the encoder's width."""
    return vit_predictor(img_size=img_size, patch_size=patch_size, embed_dim=192, predictor_embed_dim=384, depth=6,
                         num_heads=12, **kw)
