"""I-JEPA: facebookresearch/ijepa src/models/vision_transformer.py (VisionTransformer,
VisionTransformerPredictor, the vit_* sizes) in TorchScript-compilable form, with the same
parameter names (a checkpoint's `encoder`, `target_encoder` and `predictor` load with strict=True
once DDP's `module.` prefix is removed) and the same arithmetic.

Differences: the encoder takes only the image size it was built for (the official
`interpolate_pos_encoding` assumes a class token I-JEPA does not have, so other sizes do not work
there either) and exports `input_shape()`; masks may also be 1-D (see layers.apply_masks). The
weight initialisation is left to the caller: exported models load a checkpoint, the test
fixtures fill random values.
"""
from typing import List, Optional

import torch
import torch.nn as nn

from .layers import (Block, PatchEmbed, apply_masks, drop_path_rates, repeat_interleave_batch, set_sincos,
                     sincos_2d_ijepa)

# name -> (embed_dim, depth, num_heads, mlp_ratio), as the vit_* functions of the official file
SIZES = {
    "vit_tiny": (192, 12, 3, 4.0),
    "vit_small": (384, 12, 6, 4.0),
    "vit_base": (768, 12, 12, 4.0),
    "vit_large": (1024, 24, 16, 4.0),
    "vit_huge": (1280, 32, 16, 4.0),
    "vit_giant": (1408, 40, 16, 48 / 11),
}


class VisionTransformer(nn.Module):
    """forward(x [B, C, H, W], masks=None) -> [B, N, D], or [len(masks) * B, K, D] with keep-index masks."""

    def __init__(self, img_size: int = 224, patch_size: int = 16, in_chans: int = 3, embed_dim: int = 768,
                 depth: int = 12, num_heads: int = 12, mlp_ratio: float = 4.0, qkv_bias: bool = True,
                 qk_scale: Optional[float] = None, drop_rate: float = 0.0, attn_drop_rate: float = 0.0,
                 drop_path_rate: float = 0.0, norm_eps: float = 1e-6, use_sdpa: bool = False, act: str = "gelu",
                 mlp_hidden: Optional[int] = None):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.img_size = img_size
        self.patch_size = patch_size
        self.input_shape_: List[int] = [in_chans, img_size, img_size]
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
        grid = img_size // patch_size
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid, embed_dim), requires_grad=False)
        set_sincos(self.pos_embed, sincos_2d_ijepa(embed_dim, grid))
        dpr = drop_path_rates(drop_path_rate, depth)
        self.blocks = nn.ModuleList([
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias, qk_scale, drop_rate, attn_drop_rate, dpr[i], norm_eps,
                  use_sdpa=use_sdpa, act=act, mlp_hidden=mlp_hidden)
            for i in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=norm_eps)

    def forward(self, x: torch.Tensor, masks: Optional[List[torch.Tensor]] = None) -> torch.Tensor:
        if x.dim() != 4 or x.shape[2] != self.img_size or x.shape[3] != self.img_size:
            raise ValueError("expected an image batch [B, C, H, W] of the size the encoder was built for "
                             "(see input_shape())")
        x = self.patch_embed(x)
        x = x + self.pos_embed
        if masks is not None:
            x = apply_masks(x, masks)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)

    @torch.jit.export
    def input_shape(self) -> List[int]:
        """The input without the batch: [C, H, W]."""
        return self.input_shape_


class VisionTransformerPredictor(nn.Module):
    """forward(x, masks_x, masks): x is the context encoder's output [len(masks_x) * B, K, D];
    returns the predicted target tokens [len(masks) * len(masks_x) * B, Kt, D]."""

    def __init__(self, num_patches: int, embed_dim: int = 768, predictor_embed_dim: int = 384, depth: int = 6,
                 num_heads: int = 12, mlp_ratio: float = 4.0, qkv_bias: bool = True, qk_scale: Optional[float] = None,
                 drop_rate: float = 0.0, attn_drop_rate: float = 0.0, drop_path_rate: float = 0.0,
                 norm_eps: float = 1e-6, use_sdpa: bool = False):
        super().__init__()
        self.predictor_embed = nn.Linear(embed_dim, predictor_embed_dim, bias=True)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, predictor_embed_dim))
        dpr = drop_path_rates(drop_path_rate, depth)
        self.predictor_pos_embed = nn.Parameter(torch.zeros(1, num_patches, predictor_embed_dim), requires_grad=False)
        set_sincos(self.predictor_pos_embed, sincos_2d_ijepa(predictor_embed_dim, int(num_patches ** 0.5)))
        self.predictor_blocks = nn.ModuleList([
            Block(predictor_embed_dim, num_heads, mlp_ratio, qkv_bias, qk_scale, drop_rate, attn_drop_rate, dpr[i],
                  norm_eps, use_sdpa=use_sdpa)
            for i in range(depth)])
        self.predictor_norm = nn.LayerNorm(predictor_embed_dim, eps=norm_eps)
        self.predictor_proj = nn.Linear(predictor_embed_dim, embed_dim, bias=True)

    def forward(self, x: torch.Tensor, masks_x: List[torch.Tensor], masks: List[torch.Tensor]) -> torch.Tensor:
        B = x.size(0) // len(masks_x)
        x = self.predictor_embed(x)
        x_pos_embed = self.predictor_pos_embed.repeat(B, 1, 1)
        x = x + apply_masks(x_pos_embed, masks_x)
        N_ctxt = x.size(1)
        pos_embs = self.predictor_pos_embed.repeat(B, 1, 1)
        pos_embs = apply_masks(pos_embs, masks)
        pos_embs = repeat_interleave_batch(pos_embs, B, repeat=len(masks_x))
        pred_tokens = self.mask_token.repeat(pos_embs.size(0), pos_embs.size(1), 1)
        pred_tokens = pred_tokens + pos_embs
        x = x.repeat(len(masks), 1, 1)
        x = torch.cat([x, pred_tokens], dim=1)
        for blk in self.predictor_blocks:
            x = blk(x)
        x = self.predictor_norm(x)
        x = x[:, N_ctxt:]
        return self.predictor_proj(x)


def build_encoder(size, patch_size: int, crop_size: int, **kw) -> VisionTransformer:
    """helper.init_model's encoder, vit.__dict__[model_name](img_size=[crop_size], patch_size=...);
    `size` is (embed_dim, depth, num_heads, mlp_ratio), a row of SIZES or a custom one."""
    embed_dim, depth, num_heads, mlp_ratio = size[:4]
    return VisionTransformer(img_size=crop_size, patch_size=patch_size, embed_dim=embed_dim, depth=depth,
                             num_heads=num_heads, mlp_ratio=mlp_ratio, **kw)


def build_predictor(encoder: VisionTransformer, pred_depth: int, pred_emb_dim: int, **kw) -> VisionTransformerPredictor:
    """helper.init_model's predictor: the encoder's patches, width and head count."""
    num_patches = encoder.pos_embed.shape[1]
    return VisionTransformerPredictor(num_patches=num_patches, embed_dim=encoder.embed_dim,
                                      predictor_embed_dim=pred_emb_dim, depth=pred_depth, num_heads=encoder.num_heads,
                                      **kw)
