"""Motion feature autoencoder after seed 003 (vfm_encoder model.py), used only to make TorchScript
files and expected outputs.

Temporal conv + temporal transformer over each patch's sequence of frame features. Inputs are
VFM features [B, T, N, C] or [B, T, H, W, C]; with `use_token` the encoder input is [x, delta x]
(delta x[t] = x[t] - x[t-1], 0 at t = 0), so its width is 2C. `encode` returns the latent
[B, T, N, L] (or [B, T, H, W, L]), a motion embedding [B, L] and the compression ratio C / L.
"""
from typing import Tuple

import torch
import torch.nn as nn

from ijepa import Block


def _flatten(x: torch.Tensor) -> torch.Tensor:
    if x.dim() == 5:
        return x.reshape(x.shape[0], x.shape[1], x.shape[2] * x.shape[3], x.shape[4])
    if x.dim() == 4:
        return x
    raise ValueError("expected features of shape [B, T, N, C] or [B, T, H, W, C]")


class TemporalStack(nn.Module):
    """[B*N, T, in] -> [B*N, T, out] through Linear, a temporal conv (residual), time embedding,
    transformer blocks and LayerNorm."""

    def __init__(self, in_dim, model_dim, out_dim, num_heads, num_layers, dropout, max_frames):
        super().__init__()
        self.in_proj = nn.Linear(in_dim, model_dim)
        self.temporal_conv = nn.Conv1d(model_dim, model_dim, kernel_size=3, padding=1)
        self.act = nn.GELU()
        self.time_embed = nn.Parameter(torch.zeros(1, max_frames, model_dim))
        nn.init.trunc_normal_(self.time_embed, std=0.02)
        self.blocks = nn.ModuleList([
            Block(model_dim, num_heads, 4.0, True, None, dropout, dropout) for _ in range(num_layers)])
        self.norm = nn.LayerNorm(model_dim)
        self.out_proj = nn.Linear(model_dim, out_dim)
        self.max_frames = max_frames

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T = x.shape[1]
        if T > self.max_frames:
            raise ValueError("more frames than the model's max_frames")
        h = self.in_proj(x)
        h = h + self.act(self.temporal_conv(h.transpose(1, 2))).transpose(1, 2)
        h = h + self.time_embed[:, :T]
        for blk in self.blocks:
            h = blk(h)
        return self.out_proj(self.norm(h))


class MotionFeatureAutoencoder(nn.Module):
    def __init__(self, input_dim=768, model_dim=384, latent_dim=192, num_heads=8, num_layers=2, dropout=0.1,
                 use_token=False, max_frames=256):
        super().__init__()
        self.input_dim = input_dim
        self.latent_dim = latent_dim
        self.use_token = use_token
        enc_in = input_dim * 2 if use_token else input_dim
        self.encoder = TemporalStack(enc_in, model_dim, latent_dim, num_heads, num_layers, dropout, max_frames)
        self.decoder = TemporalStack(latent_dim, model_dim, input_dim, num_heads, num_layers, dropout, max_frames)
        self.motion_head = nn.Linear(2 * latent_dim, latent_dim)

    def _encode_flat(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, N, C] -> latent [B, T, N, L]."""
        B, T, N, C = x.shape
        if C != self.input_dim:
            raise ValueError("the feature width does not match the model's input_dim")
        if self.use_token:
            dx = torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:] - x[:, :-1]], dim=1)
            x = torch.cat([x, dx], dim=-1)
        seq = x.permute(0, 2, 1, 3).reshape(B * N, T, x.shape[-1])
        z = self.encoder(seq)
        return z.reshape(B, N, T, self.latent_dim).permute(0, 2, 1, 3)

    def _motion(self, z: torch.Tensor) -> torch.Tensor:
        """latent [B, T, N, L] -> motion embedding [B, L]."""
        if z.shape[1] > 1:
            dz = (z[:, 1:] - z[:, :-1]).abs().mean(dim=(1, 2))
        else:
            dz = torch.zeros_like(z[:, 0, 0])
        return self.motion_head(torch.cat([z.mean(dim=(1, 2)), dz], dim=-1))

    def _decode_flat(self, z: torch.Tensor) -> torch.Tensor:
        B, T, N, L = z.shape
        seq = z.permute(0, 2, 1, 3).reshape(B * N, T, L)
        y = self.decoder(seq)
        return y.reshape(B, N, T, self.input_dim).permute(0, 2, 1, 3)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (reconstruction shaped like x, latent, motion embedding)."""
        flat = _flatten(x)
        z = self._encode_flat(flat)
        recon = self._decode_flat(z)
        if x.dim() == 5:
            recon = recon.reshape(x.shape)
            z_out = z.reshape(x.shape[0], x.shape[1], x.shape[2], x.shape[3], self.latent_dim)
        else:
            z_out = z
        return recon, z_out, self._motion(z)

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, float]:
        """Returns (latent shaped like x with C -> L, motion embedding [B, L], C / L)."""
        flat = _flatten(x)
        z = self._encode_flat(flat)
        motion = self._motion(z)
        if x.dim() == 5:
            z = z.reshape(x.shape[0], x.shape[1], x.shape[2], x.shape[3], self.latent_dim)
        return z, motion, float(self.input_dim) / float(self.latent_dim)

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """latent [B, T, N, L] or [B, T, H, W, L] -> features [..., C]."""
        if z.dim() == 5:
            flat = z.reshape(z.shape[0], z.shape[1], z.shape[2] * z.shape[3], z.shape[4])
            y = self._decode_flat(flat)
            return y.reshape(z.shape[0], z.shape[1], z.shape[2], z.shape[3], self.input_dim)
        if z.dim() != 4:
            raise ValueError("expected a latent of shape [B, T, N, L] or [B, T, H, W, L]")
        return self._decode_flat(z)
