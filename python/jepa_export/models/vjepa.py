"""V-JEPA: facebookresearch/jepa src/models/vision_transformer.py and src/models/predictor.py
(with src/models/utils/*) in TorchScript-compilable form: the same parameter names (a checkpoint's
`encoder` / `target_encoder` / `predictor` load with strict=True once DDP's and the MultiMask
wrappers' `module.backbone.` prefix is removed) and the same arithmetic.

As there: the attention is `F.scaled_dot_product_attention` in every block (the repository's
VisionTransformer never hands its `use_sdpa` to the blocks), blocks have no drop path, video
inputs use 3-D tubelets and the 3-D sin-cos table (`uniform_power`), other input sizes
interpolate the position table (trilinear for video, bicubic for images), and the predictor has
one mask token per mask config, chosen by `mask_index` modulo their number.

Exported as the backbones themselves (not the MultiMaskWrapper / PredictorMultiMaskWrapper
lists): the encoder's `forward(x, masks)` concatenates the masks along the batch, as the backbone
does; the predictor's `forward(x, masks_x, masks, mask_index=1)` is the backbone's
`forward(ctxt, tgt, masks_ctxt, masks_tgt, mask_index)` for mask-token predictors (the diffusion
predictor of `use_mask_tokens: false` is not supported).
"""
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import (Block, PatchEmbed, PatchEmbed3D, apply_masks, interpolate_pos_embed_2d, repeat_interleave_batch,
                     set_sincos, sincos_2d_vjepa, sincos_3d)

# name -> (embed_dim, depth, num_heads, mlp_ratio); vit_gigantic's `mpl_ratio` typo leaves it at 4.0 there
SIZES = {
    "vit_tiny": (192, 12, 3, 4.0),
    "vit_small": (384, 12, 6, 4.0),
    "vit_base": (768, 12, 12, 4.0),
    "vit_large": (1024, 24, 16, 4.0),
    "vit_huge": (1280, 32, 16, 4.0),
    "vit_giant": (1408, 40, 16, 48 / 11),
    "vit_gigantic": (1664, 48, 16, 4.0),
}


def pos_table(embed_dim: int, img_size: int, patch_size: int, num_frames: int, tubelet_size: int,
              uniform_power: bool):
    grid = img_size // patch_size
    if num_frames > 1:
        return sincos_3d(embed_dim, grid, num_frames // tubelet_size, uniform_power)
    return sincos_2d_vjepa(embed_dim, grid)


class VisionTransformer(nn.Module):
    def __init__(self, img_size: int = 224, patch_size: int = 16, num_frames: int = 1, tubelet_size: int = 2,
                 in_chans: int = 3, embed_dim: int = 768, depth: int = 12, num_heads: int = 12,
                 mlp_ratio: float = 4.0, qkv_bias: bool = True, qk_scale: Optional[float] = None,
                 drop_rate: float = 0.0, attn_drop_rate: float = 0.0, norm_eps: float = 1e-6,
                 uniform_power: bool = False):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.input_size = img_size
        self.patch_size = patch_size
        self.num_frames = num_frames
        self.tubelet_size = tubelet_size
        self.is_video = num_frames > 1
        grid = img_size // patch_size
        if self.is_video:
            self.patch_embed = PatchEmbed3D(patch_size, tubelet_size, in_chans, embed_dim)
            self.num_patches = (num_frames // tubelet_size) * grid * grid
            self.input_shape_: List[int] = [in_chans, num_frames, img_size, img_size]
        else:
            self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
            self.num_patches = grid * grid
            self.input_shape_ = [in_chans, img_size, img_size]
        self.pos_embed = nn.Parameter(torch.zeros(1, self.num_patches, embed_dim), requires_grad=False)
        set_sincos(self.pos_embed, pos_table(embed_dim, img_size, patch_size, num_frames, tubelet_size, uniform_power))
        self.blocks = nn.ModuleList([
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias, qk_scale, drop_rate, attn_drop_rate, 0.0, norm_eps,
                  use_sdpa=True)
            for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=norm_eps)

    def interpolate_pos_encoding(self, x: torch.Tensor, pos_embed: torch.Tensor) -> torch.Tensor:
        dim = pos_embed.shape[2]
        if self.is_video:
            T, H, W = x.shape[2], x.shape[3], x.shape[4]
            if H == self.input_size and W == self.input_size and T == self.num_frames:
                return pos_embed
            T = T // self.tubelet_size
            H = H // self.patch_size
            W = W // self.patch_size
            N_t = self.num_frames // self.tubelet_size
            N_h = self.input_size // self.patch_size
            N_w = N_h
            out = F.interpolate(pos_embed.reshape(1, N_t, N_h, N_w, dim).permute(0, 4, 1, 2, 3),
                                scale_factor=[T / N_t, H / N_h, W / N_w], mode="trilinear")
            return out.permute(0, 2, 3, 4, 1).reshape(1, -1, dim)
        H, W = x.shape[2], x.shape[3]
        if H == self.input_size and W == self.input_size:
            return pos_embed
        return interpolate_pos_embed_2d(pos_embed, H, W, self.patch_size)

    def forward(self, x: torch.Tensor, masks: Optional[List[torch.Tensor]] = None) -> torch.Tensor:
        pos_embed = self.interpolate_pos_encoding(x, self.pos_embed)
        x = self.patch_embed(x)
        x = x + pos_embed
        if masks is not None:
            x = apply_masks(x, masks)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)

    @torch.jit.export
    def input_shape(self) -> List[int]:
        """The input without the batch: [C, T, H, W] (video) or [C, H, W]."""
        return self.input_shape_


class VisionTransformerPredictor(nn.Module):
    def __init__(self, img_size: int = 224, patch_size: int = 16, num_frames: int = 1, tubelet_size: int = 2,
                 embed_dim: int = 768, predictor_embed_dim: int = 384, depth: int = 6, num_heads: int = 12,
                 mlp_ratio: float = 4.0, qkv_bias: bool = True, qk_scale: Optional[float] = None,
                 drop_rate: float = 0.0, attn_drop_rate: float = 0.0, norm_eps: float = 1e-6,
                 uniform_power: bool = False, num_mask_tokens: int = 2):
        super().__init__()
        self.predictor_embed = nn.Linear(embed_dim, predictor_embed_dim, bias=True)
        self.num_mask_tokens = num_mask_tokens
        self.mask_tokens = nn.ParameterList(
            [nn.Parameter(torch.zeros(1, 1, predictor_embed_dim)) for _ in range(num_mask_tokens)])
        grid = img_size // patch_size
        self.num_patches = (num_frames // tubelet_size) * grid * grid if num_frames > 1 else grid * grid
        self.predictor_pos_embed = nn.Parameter(torch.zeros(1, self.num_patches, predictor_embed_dim),
                                                requires_grad=False)
        set_sincos(self.predictor_pos_embed,
                   pos_table(predictor_embed_dim, img_size, patch_size, num_frames, tubelet_size, uniform_power))
        self.predictor_blocks = nn.ModuleList([
            Block(predictor_embed_dim, num_heads, mlp_ratio, qkv_bias, qk_scale, drop_rate, attn_drop_rate, 0.0,
                  norm_eps, use_sdpa=True)
            for _ in range(depth)])
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
        ctxt_pos_embed = self.predictor_pos_embed.repeat(B, 1, 1)
        x = x + apply_masks(ctxt_pos_embed, masks_x)
        pred_tokens = self.mask_token(mask_index).repeat(B, self.num_patches, 1)
        pred_tokens = apply_masks(pred_tokens, masks)
        pos_embs = self.predictor_pos_embed.repeat(B, 1, 1)
        pos_embs = apply_masks(pos_embs, masks)
        pos_embs = repeat_interleave_batch(pos_embs, B, repeat=len(masks_x))
        pred_tokens = pred_tokens + pos_embs
        x = x.repeat(len(masks), 1, 1)
        x = torch.cat([x, pred_tokens], dim=1)
        for blk in self.predictor_blocks:
            x = blk(x)
        x = self.predictor_norm(x)
        x = x[:, N_ctxt:]
        return self.predictor_proj(x)


def build_encoder(model_name: str, crop_size: int, patch_size: int, num_frames: int, tubelet_size: int,
                  uniform_power: bool, **kw) -> VisionTransformer:
    """app/vjepa/utils.py init_video_model's encoder backbone."""
    embed_dim, depth, num_heads, mlp_ratio = SIZES[model_name]
    return VisionTransformer(img_size=crop_size, patch_size=patch_size, num_frames=num_frames,
                             tubelet_size=tubelet_size, embed_dim=embed_dim, depth=depth, num_heads=num_heads,
                             mlp_ratio=mlp_ratio, uniform_power=uniform_power, **kw)


def build_predictor(encoder: VisionTransformer, pred_depth: int, pred_embed_dim: int, uniform_power: bool,
                    num_mask_tokens: int, **kw) -> VisionTransformerPredictor:
    """init_video_model's predictor backbone: the encoder's geometry, width and head count."""
    return VisionTransformerPredictor(img_size=encoder.input_size, patch_size=encoder.patch_size,
                                      num_frames=encoder.num_frames, tubelet_size=encoder.tubelet_size,
                                      embed_dim=encoder.embed_dim, predictor_embed_dim=pred_embed_dim,
                                      depth=pred_depth, num_heads=encoder.num_heads, uniform_power=uniform_power,
                                      num_mask_tokens=num_mask_tokens, **kw)
