"""V-JEPA 2: facebookresearch/vjepa2 src/models/vision_transformer.py and src/models/predictor.py
(with src/models/utils/modules.py) in TorchScript-compilable form: the same parameter names (a
checkpoint's `encoder` / `target_encoder` / `predictor` load with strict=True once DDP's and the
MultiSeq wrappers' `module.backbone.` prefix is removed) and the same arithmetic: RoPE attention
(`use_rope`, frame / row / column rotations of each head), SwiGLU MLPs (`use_silu`,
`use_pred_silu`, `wide_silu`), SDPA or explicit attention (`use_sdpa`), drop path, the position
table cut to fewer frames or interpolated for other sizes, and the predictor that sorts context
and target tokens by position before its blocks and one mask token per mask config
(`mask_index` modulo their number).

Exported as the backbones: `forward(x, masks=None)` for the encoder,
`forward(x, masks_x, masks, mask_index=1)` for the predictor (the official `has_cls` is always
false in V-JEPA 2's training and is left out; `return_all_tokens` and `chop_last_n_tokens` keep
their defaults, which init_video_model never changes).
"""
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import (Block, PatchEmbed, PatchEmbed3D, apply_masks, batch_masks, drop_path_rates,
                     interpolate_pos_embed_2d, repeat_interleave_batch, set_sincos, sincos_2d_vjepa, sincos_3d)

# name -> (embed_dim, depth, num_heads, mlp_ratio, use_rope), as the vit_* functions of the official
# file; vit_gigantic*'s `mpl_ratio` typo leaves them at 4.0 there
SIZES = {
    "vit_synthetic": (1, 1, 1, 4.0, False),
    "vit_tiny": (192, 12, 3, 4.0, False),
    "vit_small": (384, 12, 6, 4.0, False),
    "vit_base": (768, 12, 12, 4.0, False),
    "vit_large": (1024, 24, 16, 4.0, False),
    "vit_huge": (1280, 32, 16, 4.0, False),
    "vit_giant": (1408, 40, 16, 48 / 11, False),
    "vit_giant_xformers": (1408, 40, 22, 48 / 11, False),
    "vit_gigantic": (1664, 48, 16, 4.0, False),
    "vit_gigantic_xformers": (1664, 48, 26, 4.0, False),
    "vit_large_rope": (1024, 24, 16, 4.0, True),
    "vit_huge_rope": (1280, 32, 16, 4.0, True),
    "vit_giant_rope": (1408, 40, 16, 48 / 11, True),
    "vit_giant_xformers_rope": (1408, 40, 22, 48 / 11, True),
}


def pos_table(embed_dim, img_size, patch_size, num_frames, tubelet_size, uniform_power):
    grid = img_size // patch_size
    if num_frames > 1:
        return sincos_3d(embed_dim, grid, num_frames // tubelet_size, uniform_power)
    return sincos_2d_vjepa(embed_dim, grid)


class VisionTransformer(nn.Module):
    pos_embed: Optional[torch.Tensor]

    def __init__(self, img_size: int = 224, patch_size: int = 16, num_frames: int = 1, tubelet_size: int = 2,
                 in_chans: int = 3, embed_dim: int = 768, depth: int = 12, num_heads: int = 12,
                 mlp_ratio: float = 4.0, qkv_bias: bool = True, qk_scale: Optional[float] = None,
                 drop_rate: float = 0.0, attn_drop_rate: float = 0.0, drop_path_rate: float = 0.0,
                 norm_eps: float = 1e-6, uniform_power: bool = False, use_silu: bool = False, wide_silu: bool = True,
                 use_sdpa: bool = True, use_rope: bool = False, handle_nonsquare_inputs: bool = True,
                 input_frames: Optional[int] = None):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.img_height = img_size
        self.img_width = img_size
        self.patch_size = patch_size
        self.num_frames = num_frames
        self.tubelet_size = tubelet_size
        self.is_video = num_frames > 1
        self.use_rope = use_rope
        self.handle_nonsquare_inputs = handle_nonsquare_inputs
        grid = img_size // patch_size
        frames = input_frames if input_frames is not None else num_frames
        if self.is_video:
            self.patch_embed = PatchEmbed3D(patch_size, tubelet_size, in_chans, embed_dim)
            self.num_patches = (num_frames // tubelet_size) * grid * grid
            self.input_shape_: List[int] = [in_chans, frames, img_size, img_size]
        else:
            self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
            self.num_patches = grid * grid
            self.input_shape_ = [in_chans, img_size, img_size]
        self.pos_embed = None
        if not use_rope:
            self.pos_embed = nn.Parameter(torch.zeros(1, self.num_patches, embed_dim), requires_grad=False)
            set_sincos(self.pos_embed,
                       pos_table(embed_dim, img_size, patch_size, num_frames, tubelet_size, uniform_power))
        dpr = drop_path_rates(drop_path_rate, depth)
        self.blocks = nn.ModuleList([
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias, qk_scale, drop_rate, attn_drop_rate, dpr[i], norm_eps,
                  use_sdpa=use_sdpa, use_rope=use_rope, grid_size=grid, swiglu=use_silu, wide_silu=wide_silu)
            for i in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=norm_eps)

    def interpolate_pos_encoding(self, x: torch.Tensor, pos_embed: torch.Tensor) -> torch.Tensor:
        N = pos_embed.shape[1]
        dim = pos_embed.shape[2]
        if self.is_video:
            T, H, W = x.shape[2], x.shape[3], x.shape[4]
            if H == self.img_height and W == self.img_width and T == self.num_frames:
                return pos_embed
            if H == self.img_height and W == self.img_width and T < self.num_frames:
                new_N = (T // self.tubelet_size) * (H // self.patch_size) * (W // self.patch_size)
                return pos_embed[:, :new_N, :]
            T = T // self.tubelet_size
            H = H // self.patch_size
            W = W // self.patch_size
            N_t = self.num_frames // self.tubelet_size
            N_h = self.img_height // self.patch_size
            N_w = self.img_width // self.patch_size
            if N_h * N_w * N_t != N:
                raise ValueError("position embedding initialized incorrectly")
            out = F.interpolate(pos_embed.reshape(1, N_t, N_h, N_w, dim).permute(0, 4, 1, 2, 3),
                                scale_factor=[T / N_t, H / N_h, W / N_w], mode="trilinear")
            return out.permute(0, 2, 3, 4, 1).reshape(1, -1, dim)
        H, W = x.shape[2], x.shape[3]
        if H == self.img_height and W == self.img_width:
            return pos_embed
        return interpolate_pos_embed_2d(pos_embed, H, W, self.patch_size)

    def forward(self, x: torch.Tensor, masks: Optional[List[torch.Tensor]] = None) -> torch.Tensor:
        if x.dim() == 4:
            T = 1
            H, W = x.shape[2], x.shape[3]
        else:
            T = x.shape[2] // self.tubelet_size
            H, W = x.shape[3], x.shape[4]
        H_patches: Optional[int] = H // self.patch_size
        W_patches: Optional[int] = W // self.patch_size
        T_opt: Optional[int] = T
        if not self.handle_nonsquare_inputs:
            T_opt = None
            H_patches = None
            W_patches = None
        pos_embed = self.pos_embed
        if pos_embed is not None:
            pos_embed = self.interpolate_pos_encoding(x, pos_embed)
            x = self.patch_embed(x)
            x = x + pos_embed
        else:
            x = self.patch_embed(x)
        mask: Optional[torch.Tensor] = None
        if masks is not None:
            x = apply_masks(x, masks)
            mask = torch.cat(batch_masks(masks, x.size(0) // len(masks)), dim=0)
        for blk in self.blocks:
            x = blk(x, mask, T_opt, H_patches, W_patches)
        return self.norm(x)

    @torch.jit.export
    def input_shape(self) -> List[int]:
        """The input without the batch: [C, T, H, W] (video) or [C, H, W]."""
        return self.input_shape_


class VisionTransformerPredictor(nn.Module):
    predictor_pos_embed: Optional[torch.Tensor]

    def __init__(self, img_size: int = 224, patch_size: int = 16, num_frames: int = 1, tubelet_size: int = 2,
                 embed_dim: int = 768, predictor_embed_dim: int = 384, depth: int = 6, num_heads: int = 12,
                 mlp_ratio: float = 4.0, qkv_bias: bool = True, qk_scale: Optional[float] = None,
                 drop_rate: float = 0.0, attn_drop_rate: float = 0.0, drop_path_rate: float = 0.0,
                 norm_eps: float = 1e-6, uniform_power: bool = False, num_mask_tokens: int = 2,
                 use_silu: bool = False, wide_silu: bool = True, use_sdpa: bool = True, use_rope: bool = False):
        super().__init__()
        self.predictor_embed = nn.Linear(embed_dim, predictor_embed_dim, bias=True)
        self.num_mask_tokens = num_mask_tokens
        self.mask_tokens = nn.ParameterList(
            [nn.Parameter(torch.zeros(1, 1, predictor_embed_dim)) for _ in range(num_mask_tokens)])
        self.grid_height = img_size // patch_size
        if num_frames > 1:
            self.num_patches = (num_frames // tubelet_size) * self.grid_height * self.grid_height
        else:
            self.num_patches = self.grid_height * self.grid_height
        self.use_rope = use_rope
        self.predictor_pos_embed = None
        if not use_rope:
            self.predictor_pos_embed = nn.Parameter(torch.zeros(1, self.num_patches, predictor_embed_dim),
                                                    requires_grad=False)
            set_sincos(self.predictor_pos_embed,
                       pos_table(predictor_embed_dim, img_size, patch_size, num_frames, tubelet_size, uniform_power))
        dpr = drop_path_rates(drop_path_rate, depth)
        self.predictor_blocks = nn.ModuleList([
            Block(predictor_embed_dim, num_heads, mlp_ratio, qkv_bias, qk_scale, drop_rate, attn_drop_rate, dpr[i],
                  norm_eps, use_sdpa=use_sdpa, use_rope=use_rope, grid_size=self.grid_height, swiglu=use_silu,
                  wide_silu=wide_silu)
            for i in range(depth)])
        self.predictor_norm = nn.LayerNorm(predictor_embed_dim, eps=norm_eps)
        self.predictor_proj = nn.Linear(predictor_embed_dim, embed_dim, bias=True)

    def mask_token(self, mask_index: int) -> torch.Tensor:
        index = mask_index % self.num_mask_tokens
        token = self.mask_tokens[0]
        for i, t in enumerate(self.mask_tokens):
            if i == index:
                token = t
        return token

    def forward(self, x: torch.Tensor, masks_x: List[torch.Tensor], masks: List[torch.Tensor],
                mask_index: int = 1) -> torch.Tensor:
        B = x.size(0) // len(masks_x)
        x = self.predictor_embed(x)
        N_ctxt = x.size(1)
        pos = self.predictor_pos_embed
        if pos is not None:
            x = x + apply_masks(pos.repeat(B, 1, 1), masks_x)
        pred_tokens = self.mask_token(mask_index).repeat(B, self.num_patches, 1)
        pred_tokens = apply_masks(pred_tokens, masks)
        if pos is not None:
            pos_embs = apply_masks(pos.repeat(B, 1, 1), masks)
            pos_embs = repeat_interleave_batch(pos_embs, B, repeat=len(masks_x))
            pred_tokens = pred_tokens + pos_embs
        x = x.repeat(len(masks_x), 1, 1)
        x = torch.cat([x, pred_tokens], dim=1)
        order = torch.cat([torch.cat(batch_masks(masks_x, B), dim=0), torch.cat(batch_masks(masks, B), dim=0)], dim=1)
        argsort = torch.argsort(order, dim=1)
        order = torch.gather(order, 1, argsort)
        x = torch.gather(x, 1, argsort.unsqueeze(-1).expand(-1, -1, x.size(-1)))
        for blk in self.predictor_blocks:
            x = blk(x, order)
        x = self.predictor_norm(x)
        reverse_argsort = torch.argsort(argsort, dim=1)
        x = torch.gather(x, 1, reverse_argsort.unsqueeze(-1).expand(-1, -1, x.size(-1)))
        x = x[:, N_ctxt:]
        return self.predictor_proj(x)


def build_encoder(model_name: str, crop_size: int, patch_size: int, num_frames: int, tubelet_size: int,
                  uniform_power: bool, use_rope: bool, **kw) -> VisionTransformer:
    """app/vjepa/utils.py init_video_model's encoder backbone (`vit_*_rope` names set use_rope)."""
    embed_dim, depth, num_heads, mlp_ratio, rope = SIZES[model_name]
    return VisionTransformer(img_size=crop_size, patch_size=patch_size, num_frames=num_frames,
                             tubelet_size=tubelet_size, embed_dim=embed_dim, depth=depth, num_heads=num_heads,
                             mlp_ratio=mlp_ratio, uniform_power=uniform_power, use_rope=use_rope or rope, **kw)


def build_predictor(encoder: VisionTransformer, pred_depth: int, pred_embed_dim: int, uniform_power: bool,
                    num_mask_tokens: int, pred_num_heads: Optional[int] = None, **kw) -> VisionTransformerPredictor:
    """init_video_model's predictor backbone (heads: `pred_num_heads`, else the encoder's)."""
    return VisionTransformerPredictor(img_size=encoder.img_height, patch_size=encoder.patch_size,
                                      num_frames=encoder.num_frames, tubelet_size=encoder.tubelet_size,
                                      embed_dim=encoder.embed_dim, predictor_embed_dim=pred_embed_dim,
                                      depth=pred_depth,
                                      num_heads=pred_num_heads if pred_num_heads else encoder.num_heads,
                                      uniform_power=uniform_power, num_mask_tokens=num_mask_tokens,
                                      use_rope=encoder.use_rope, **kw)
