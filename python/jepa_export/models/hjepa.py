"""H-JEPA reference model: jonwiggins/H-JEPA's `HJEPA` (src/models/hjepa.py, encoder.py,
predictor.py) rewritten so that TorchScript compiles it, with the same parameter names (a
`model_state_dict` of that repository loads into it) and the same computation. Used to make the
TorchScript files jepa-native trains and runs, and, in eager mode, by the Python side of the
H-JEPA training parity test (scripts/reference/hjepa_reference.py).

What is kept from jonwiggins/H-JEPA, operation for operation:
- Context encoder: a timm VisionTransformer (`context_encoder.vit`); patch embedding, CLS token,
  position embedding, then the masked patches (mask == 1 in a [B, N] mask) are zeroed, then the
  blocks and the final norm. Target encoder (`target_encoder.vit`): the same on the full image,
  under no_grad, updated by EMA only.
- Predictor: the context tokens (all N patch tokens, masked ones zeroed) followed by one mask token
  per masked patch (a learnt token plus the encoder's position embedding of that patch); blocks of
  nn.MultiheadAttention + MLP (pre-norm); the final norm and a linear head on the mask tokens.
  Samples with fewer masked patches are padded with index 0 (patch 0), as jonwiggins' code pads
  them; `masks_valid` marks the real ones.
- Levels: per level a projection (Linear + LayerNorm) of the predictions and of the gathered
  targets, then for level l > 0 an average over 2^l consecutive entries of the masked-token
  sequence (`AvgPool1d`, the default `pooling='1d'`, which drops a remainder shorter than 2^l);
  `masks_valid` is pooled the same way and thresholded at 0.5.
- Initialisation: timm's, then trunc_normal(0.02) / zero bias for every Linear and ones / zeros for
  every LayerNorm of the whole model, the target encoder included (so that, as there, the target
  encoder's linear weights differ from the context encoder's at step 0).

Added here:
- `pooling='2d'`: each level l > 0 averages the masked tokens that fall in the same 2^l x 2^l cell
  of the patch grid (cells at the right and bottom edges are cut short when the grid is not a
  multiple of 2^l); predictions and targets are [B, cells, D] over the whole grid, with the cells
  holding no masked token set to 0 and `masks_valid` false there. Level 0 is the full [B, N, D]
  grid with the predictions at the masked patches.
- `momentum_at(step)`: the momentum of jonwiggins' `update_target_encoder(step)` (linear from
  `ema_momentum` to `ema_momentum_end` over `ema_warmup_steps`); jepa-native's
  `HJEPA.updateTargetEncoder(step)` reads it and runs the EMA in C++.
Left out: RoPE, FPN, LayerScale, gradient checkpointing, the end-to-end (LeWM) mode and the
BatchNorm / no-norm projection heads (all off in configs/default.yaml).
"""
import copy
import math
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


def _timm():
    """timm, whose import imports torchvision. Next to a CPU torch, a CUDA build of torchvision
    (the only wheel of the pip mirror here) fails in its fake-kernel registrations; those are
    skipped up front (by reading its version file, without importing it: a failed import throws a
    C++ exception, which an AddressSanitizer-preloaded process cannot survive)."""
    import importlib.util
    import os
    import sys
    import types
    if "torchvision" not in sys.modules and torch.version.cuda is None:
        spec = importlib.util.find_spec("torchvision")
        version = os.path.join(os.path.dirname(spec.origin), "version.py") if spec and spec.origin else ""
        if version and os.path.exists(version) and "+cu" in open(version).read():
            sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
    import timm
    return timm


class ViTEncoder(nn.Module):
    """jonwiggins' ContextEncoder / TargetEncoder: forward(images, mask=None) -> [B, 1 + N, D]."""

    def __init__(self, vit):
        super().__init__()
        self.vit = vit

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = self.vit.patch_embed(x)
        cls_token = self.vit.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat((cls_token, x), dim=1)
        x = x + self.vit.pos_embed
        x = self.vit.pos_drop(x)
        if mask is not None:
            m = mask.float() if mask.dtype == torch.bool else mask
            with_cls = torch.cat([torch.zeros(m.shape[0], 1, device=m.device, dtype=m.dtype), m], dim=1).unsqueeze(-1)
            x = x * (1 - with_cls)
        x = self.vit.blocks(x)
        return self.vit.norm(x)


class PredictorBlock(nn.Module):
    def __init__(self, embed_dim: int, num_heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dim)
        self.attn = nn.MultiheadAttention(embed_dim, num_heads, dropout=0.0, batch_first=True)
        self.norm2 = nn.LayerNorm(embed_dim)
        hidden = int(embed_dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(embed_dim, hidden), nn.GELU(), nn.Dropout(0.0), nn.Linear(hidden, embed_dim),
                                 nn.Dropout(0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Three norm1 calls, as there: the attention's query, key and value are three tensors.
        attn_out, _ = self.attn(self.norm1(x), self.norm1(x), self.norm1(x))
        x = x + attn_out
        return x + self.mlp(self.norm2(x))


class Predictor(nn.Module):
    def __init__(self, embed_dim: int, depth: int, num_heads: int, mlp_ratio: float):
        super().__init__()
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        nn.init.normal_(self.mask_token, std=0.02)
        # Unused when position embeddings are given (always, from HJEPA); kept for the names.
        self.pos_embed_predictor = nn.Parameter(torch.zeros(1, 1, embed_dim))
        nn.init.normal_(self.pos_embed_predictor, std=0.02)
        self.blocks = nn.ModuleList([PredictorBlock(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim)
        self.head = nn.Linear(embed_dim, embed_dim)
        self.apply(_init_weights)

    def forward(self, context: torch.Tensor, mask_indices: torch.Tensor, pos_embed: torch.Tensor) -> torch.Tensor:
        """context [B, N, D], mask_indices [B, K], pos_embed [B, N, D] -> [B, K, D]."""
        B, n_context, D = context.shape
        tokens = self.mask_token.expand(B, mask_indices.shape[1], D)
        tokens = tokens + torch.gather(pos_embed, 1, mask_indices.unsqueeze(-1).expand(-1, -1, D))
        x = torch.cat([context, tokens], dim=1)
        for blk in self.blocks:
            x = blk(x)
        x = x[:, n_context:, :]
        return self.head(self.norm(x))


def _init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.constant_(m.bias, 0)
    elif isinstance(m, nn.LayerNorm):
        nn.init.constant_(m.bias, 0)
        nn.init.constant_(m.weight, 1.0)


class HJEPA(nn.Module):
    def __init__(self, img_size=224, patch_size=16, embed_dim=768, depth=12, num_heads=12, predictor_depth=6,
                 predictor_num_heads=12, predictor_mlp_ratio=4.0, num_hierarchies=3, pooling="1d",
                 ema_momentum=0.996, ema_momentum_end=1.0, ema_warmup_steps=30000, drop_path_rate=0.0,
                 encoder_type="vit_base_patch16_224"):
        super().__init__()
        if not 2 <= num_hierarchies <= 4:
            raise ValueError(f"num_hierarchies must be between 2 and 4, got {num_hierarchies}")
        if pooling not in ("1d", "2d"):
            raise ValueError(f"pooling must be '1d' or '2d', got {pooling}")
        timm = _timm()
        vit = timm.create_model(encoder_type, pretrained=False, img_size=img_size, patch_size=patch_size,
                                embed_dim=embed_dim, depth=depth, num_heads=num_heads, num_classes=0,
                                drop_path_rate=drop_path_rate)
        self.context_encoder = ViTEncoder(vit)
        self.target_encoder = copy.deepcopy(self.context_encoder)
        for p in self.target_encoder.parameters():
            p.requires_grad = False
        self.predictor = Predictor(embed_dim, predictor_depth, predictor_num_heads, predictor_mlp_ratio)
        self.hierarchy_projections = nn.ModuleList(
            [nn.Sequential(nn.Linear(embed_dim, embed_dim), nn.LayerNorm(embed_dim)) for _ in range(num_hierarchies)])
        self.apply(_init_weights)
        self.num_hierarchies = num_hierarchies
        self.grid = img_size // patch_size
        self.embed_dim = embed_dim
        self.pooling_mode = pooling
        self.ema_momentum = float(ema_momentum)
        self.ema_momentum_end = float(ema_momentum_end)
        self.ema_warmup_steps = int(ema_warmup_steps)

    # -- pooling --------------------------------------------------------------------------------

    def _pool1d(self, x: torch.Tensor, level: int) -> torch.Tensor:
        """[B, N, D] -> [B, N // 2^level, D]: AvgPool1d over the sequence."""
        if level == 0:
            return x
        k = 1 << level
        return F.avg_pool1d(x.transpose(1, 2), kernel_size=k, stride=k).transpose(1, 2)

    def _grid_sum(self, x: torch.Tensor, level: int) -> torch.Tensor:
        """[B, N, C] on the g x g grid -> [B, cells, C]: sums over 2^level x 2^level cells."""
        if level == 0:
            return x
        k = 1 << level
        B, N, C = x.shape
        grid = x.transpose(1, 2).reshape(B, C, self.grid, self.grid)
        s = F.avg_pool2d(grid, kernel_size=k, stride=k, ceil_mode=True, divisor_override=1)
        return s.flatten(2).transpose(1, 2)

    def _pool2d(self, values: torch.Tensor, indices: torch.Tensor, valid: torch.Tensor, level: int):
        """Masked tokens [B, K, D] at grid positions `indices` ([B, K], `valid` [B, K]) -> the mean
        of the masked tokens of each cell [B, cells, D] and the cells holding any [B, cells]."""
        B, K, D = values.shape
        w = valid.to(values.dtype).unsqueeze(-1)
        full = torch.zeros(B, self.grid * self.grid, D, dtype=values.dtype, device=values.device)
        full = full.scatter_add(1, indices.unsqueeze(-1).expand(-1, -1, D), values * w)
        count = torch.zeros(B, self.grid * self.grid, 1, dtype=values.dtype, device=values.device)
        count = count.scatter_add(1, indices.unsqueeze(-1), w)
        sums = self._grid_sum(full, level)
        counts = self._grid_sum(count, level)
        return sums / counts.clamp_min(1.0), counts.squeeze(-1) > 0

    # -- training forward -----------------------------------------------------------------------

    def forward(self, images: torch.Tensor, mask: torch.Tensor) -> Dict[str, List[torch.Tensor]]:
        """images [B, 3, H, W], mask [B, N] (1 / true = masked). Returns per-level lists:
        'predictions' and 'targets' [B, K_l, D], 'masks_valid' [B, K_l] (bool)."""
        B = images.shape[0]
        context_features = self.context_encoder(images, mask)
        with torch.no_grad():
            target_features = self.target_encoder(images, None)
        mask_bool = mask.to(torch.bool)
        max_masked = int(mask_bool.sum(dim=1).max().item())
        mask_indices = torch.zeros((B, max_masked), dtype=torch.long, device=mask.device)
        mask_valid = torch.zeros((B, max_masked), dtype=torch.bool, device=mask.device)
        for i in range(B):
            idx = mask_bool[i].nonzero().squeeze(1)
            n = idx.shape[0]
            mask_indices[i, :n] = idx
            mask_valid[i, :n] = True
        pos_embed = self.context_encoder.vit.pos_embed[:, 1:, :].expand(B, -1, -1)
        predicted = self.predictor(context_features[:, 1:, :], mask_indices, pos_embed)
        target_masked = torch.gather(target_features[:, 1:, :], 1,
                                     mask_indices.unsqueeze(-1).expand(-1, -1, self.embed_dim))
        predictions: List[torch.Tensor] = []
        targets: List[torch.Tensor] = []
        masks_valid: List[torch.Tensor] = []
        level = 0
        for proj in self.hierarchy_projections:
            p = proj(predicted)
            t = proj(target_masked)
            if self.pooling_mode == "2d":
                p, v = self._pool2d(p, mask_indices, mask_valid, level)
                t, _ = self._pool2d(t, mask_indices, mask_valid, level)
            else:
                v = mask_valid.clone()
                if level > 0:
                    p = self._pool1d(p, level)
                    t = self._pool1d(t, level)
                    v = self._pool1d(v.float().unsqueeze(-1), level).squeeze(-1) > 0.5
            predictions.append(p)
            targets.append(t)
            masks_valid.append(v)
            level += 1
        return {"predictions": predictions, "targets": targets, "masks_valid": masks_valid}

    # -- inference ------------------------------------------------------------------------------

    @torch.jit.export
    def extract_features(self, images: torch.Tensor, level: int = 0, use_target_encoder: bool = True) -> torch.Tensor:
        """Features at one level: the projection of the patch tokens, pooled in 1-D over the whole
        sequence ([B, N // 2^level, D]) or, with pooling '2d', over the grid ([B, ceil(g / 2^level)^2, D])."""
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
                out = proj(features)
                if self.pooling_mode == "2d":
                    n = self._grid_sum(torch.ones_like(out[:, :, :1]), level)
                    out = self._grid_sum(out, level) / n
                else:
                    out = self._pool1d(out, level)
            i += 1
        return out

    @torch.jit.export
    def num_levels(self) -> int:
        return self.num_hierarchies

    @torch.jit.export
    def pooling(self) -> str:
        return self.pooling_mode

    @torch.jit.export
    def momentum_at(self, current_step: int) -> float:
        """jonwiggins' update_target_encoder(current_step) momentum: linear over ema_warmup_steps."""
        progress = min(1.0, current_step / self.ema_warmup_steps)
        return self.ema_momentum + (self.ema_momentum_end - self.ema_momentum) * progress

    @torch.no_grad()
    def ema_update(self, momentum: float):
        """Python only: jonwiggins' EMA, target = target * m + context * (1 - m)."""
        for pt, pc in zip(self.target_encoder.vit.parameters(), self.context_encoder.vit.parameters()):
            pt.data.mul_(momentum).add_(pc.data, alpha=1 - momentum)
