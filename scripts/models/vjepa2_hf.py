"""The real V-JEPA 2 encoder from transformers (VJEPA2Model) with random weights (nothing can be
downloaded here), wrapped so that tracing gives forward(pixel_values_videos [B, T, 3, H, W]) ->
last_hidden_state [B, (T / tubelet) * (H / p) * (W / p), hidden]."""
import torch
import torch.nn as nn


def tiny_config():
    from transformers import VJEPA2Config
    return VJEPA2Config(patch_size=4, crop_size=16, frames_per_clip=4, tubelet_size=2, hidden_size=32,
                        num_attention_heads=2, num_hidden_layers=2, mlp_ratio=4.0, pred_hidden_size=16,
                        pred_num_attention_heads=2, pred_num_hidden_layers=1, pred_num_mask_tokens=2)


def vitg_fpc64_384_config():
    """facebook/vjepa2-vitg-fpc64-384: ViT-g/16 as facebookresearch/vjepa2's vit_giant_xformers
    (1408 wide, 40 blocks, 22 heads of 64, MLP ratio 48/11), 384 px crops, tubelets of 2 frames,
    clips of up to 64 frames. A 16-frame clip gives 8 * 24 * 24 = 4608 tokens of 1408."""
    from transformers import VJEPA2Config
    return VJEPA2Config(patch_size=16, crop_size=384, frames_per_clip=64, tubelet_size=2, hidden_size=1408,
                        num_attention_heads=22, num_hidden_layers=40, mlp_ratio=48 / 11, pred_hidden_size=384,
                        pred_num_attention_heads=12, pred_num_hidden_layers=12, pred_num_mask_tokens=10)


class VJEPA2Encoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        from transformers import VJEPA2Model
        self.model = VJEPA2Model(config)

    def forward(self, pixel_values_videos: torch.Tensor) -> torch.Tensor:
        out = self.model(pixel_values_videos=pixel_values_videos, skip_predictor=True)
        return out.last_hidden_state
