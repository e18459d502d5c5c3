"""H-JEPA reference model after seed 001 (used only to make TorchScript files and expected outputs).

- Context encoder: a timm VisionTransformer; masked patches (mask == 1 in a [B, N] 0/1 mask) are
  zeroed after the patch and position embeddings, as in jonwiggins/H-JEPA's ContextEncoder.
- Target encoder: the same ViT, updated by EMA from the context encoder (`ema_update`, Python
  only; the EMA itself belongs to the EMA feature of jepa-native), run on the full image.
- Predictor: transformer blocks over the full patch grid, context features at visible positions
  and a learnt mask token plus the position embedding at masked ones.
- 2-4 hierarchy levels, each with a projection head (Linear + LayerNorm).

Pooling (a deliberate choice): level l averages the *patch grid* in 2^l x 2^l groups
(`avg_pool2d` on the [D, g, g] grid), so level 1 cells are 2x2 patch groups as the seed's
"Hierarchical Representations" list says. jonwiggins/H-JEPA instead gathers the masked tokens
into a sequence and pools that sequence in 1-D (`AvgPool1d(2^l)`), which mixes patches that are
not neighbours. Here `forward` returns, for each level, the pooled predictions and targets over
the whole grid plus `masks`: the fraction of masked patches in each cell (use it to weight the
loss; cells with 0 hold no prediction). `extract_features(images, level)` pools the same way.
"""
import copy
import math
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ijepa import Block


class ViTEncoder(nn.Module):
    """Wraps a timm ViT: forward(images, mask=None) -> [B, 1 + N, D] (CLS token first)."""

    def __init__(self, vit):
        super().__init__()
        self.vit = vit

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = self.vit.patch_embed(x)
        cls = self.vit.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat((cls, x), dim=1)
        x = x + self.vit.pos_embed
        x = self.vit.pos_drop(x)
        if mask is not None:
            m = mask.to(x.dtype)
            m = torch.cat([torch.zeros(m.shape[0], 1, dtype=x.dtype, device=x.device), m], dim=1).unsqueeze(-1)
            x = x * (1 - m)
        x = self.vit.blocks(x)
        return self.vit.norm(x)


class HPredictor(nn.Module):
    def __init__(self, embed_dim, predictor_dim, depth, num_heads):
        super().__init__()
        self.embed = nn.Linear(embed_dim, predictor_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, predictor_dim))
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        self.blocks = nn.ModuleList([Block(predictor_dim, num_heads, 4.0, True) for _ in range(depth)])
        self.norm = nn.LayerNorm(predictor_dim)
        self.proj = nn.Linear(predictor_dim, embed_dim)

    def forward(self, context: torch.Tensor, mask: torch.Tensor, pos_embed: torch.Tensor) -> torch.Tensor:
        """context [B, N, D] (patch tokens), mask [B, N] 0/1, pos_embed [1, N, D] -> [B, N, D]."""
        x = self.embed(context)
        pos = self.embed(pos_embed)
        m = mask.to(x.dtype).unsqueeze(-1)
        x = x * (1 - m) + (self.mask_token + pos) * m
        for blk in self.blocks:
            x = blk(x)
        return self.proj(self.norm(x))


class HJEPA(nn.Module):
    def __init__(self, img_size=224, patch_size=16, embed_dim=768, depth=12, num_heads=12, predictor_dim=384,
                 predictor_depth=6, predictor_heads=12, num_hierarchies=3):
        super().__init__()
        import timm
        if not 2 <= num_hierarchies <= 4:
            raise ValueError(f"num_hierarchies must be between 2 and 4, got {num_hierarchies}")
        grid = img_size // patch_size
        if grid % (1 << (num_hierarchies - 1)) != 0:
            raise ValueError(f"the {grid}x{grid} patch grid cannot be pooled in {1 << (num_hierarchies - 1)}-groups")
        vit = timm.create_model("vit_base_patch16_224", pretrained=False, img_size=img_size, patch_size=patch_size,
                                embed_dim=embed_dim, depth=depth, num_heads=num_heads, num_classes=0)
        self.context_encoder = ViTEncoder(vit)
        self.target_encoder = copy.deepcopy(self.context_encoder)
        for p in self.target_encoder.parameters():
            p.requires_grad = False
        self.predictor = HPredictor(embed_dim, predictor_dim, predictor_depth, predictor_heads)
        self.hierarchy_projections = nn.ModuleList(
            [nn.Sequential(nn.Linear(embed_dim, embed_dim), nn.LayerNorm(embed_dim)) for _ in range(num_hierarchies)])
        for proj in self.hierarchy_projections:
            nn.init.trunc_normal_(proj[0].weight, std=0.02)
            nn.init.constant_(proj[0].bias, 0)
        self.num_hierarchies = num_hierarchies
        self.grid = grid
        self.embed_dim = embed_dim

    @torch.no_grad()
    def ema_update(self, momentum: float):
        """Python only: target = momentum * target + (1 - momentum) * context."""
        for pt, pc in zip(self.target_encoder.parameters(), self.context_encoder.parameters()):
            pt.mul_(momentum).add_(pc, alpha=1 - momentum)

    def _pool(self, x: torch.Tensor, level: int) -> torch.Tensor:
        """[B, N, D] over a g x g grid -> [B, (g / 2^level)^2, D], averaging 2^level x 2^level groups."""
        if level == 0:
            return x
        k = 1 << level
        B, N, D = x.shape
        grid = x.transpose(1, 2).reshape(B, D, self.grid, self.grid)
        return F.avg_pool2d(grid, kernel_size=k, stride=k).flatten(2).transpose(1, 2)

    def forward(self, images: torch.Tensor, mask: torch.Tensor) -> Dict[str, List[torch.Tensor]]:
        """images [B, 3, H, W], mask [B, N] with 1 = masked. Returns per-level lists under
        'predictions', 'targets' ([B, N_l, D]) and 'masks' ([B, N_l], masked fraction per cell)."""
        context = self.context_encoder(images, mask)
        with torch.no_grad():
            target = self.target_encoder(images, None)
        pos = self.context_encoder.vit.pos_embed[:, 1:, :]
        predicted = self.predictor(context[:, 1:, :], mask, pos)
        target = target[:, 1:, :]
        m = mask.to(predicted.dtype).unsqueeze(-1)
        predictions: List[torch.Tensor] = []
        targets: List[torch.Tensor] = []
        masks: List[torch.Tensor] = []
        level = 0
        for proj in self.hierarchy_projections:
            predictions.append(self._pool(proj(predicted), level))
            targets.append(self._pool(proj(target), level))
            masks.append(self._pool(m, level).squeeze(-1))
            level += 1
        return {"predictions": predictions, "targets": targets, "masks": masks}

    @torch.jit.export
    def extract_features(self, images: torch.Tensor, level: int = 0, use_target_encoder: bool = True) -> torch.Tensor:
        """Features at one hierarchy level: [B, (g / 2^level)^2, D]."""
        if level < 0 or level >= self.num_hierarchies:
            raise ValueError("level must be in [0, num_hierarchies)")
        if use_target_encoder:
            features = self.target_encoder(images, None)
        else:
            features = self.context_encoder(images, None)
        features = features[:, 1:, :]
        out = features
        i = 0
        for proj in self.hierarchy_projections:
            if i == level:
                out = self._pool(proj(features), level)
            i += 1
        return out

    @torch.jit.export
    def num_levels(self) -> int:
        return self.num_hierarchies
