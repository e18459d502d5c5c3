"""VL-JEPA predictor after seed 004 (models/predictor.py): visual embedding (512, CLIP ViT-B/16)
-> Linear -> GELU -> Linear -> L2 norm -> predicted text embedding (384, all-MiniLM-L6-v2)."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Predictor(nn.Module):
    def __init__(self, input_dim=512, hidden_dim=512, output_dim=384):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.GELU(), nn.Linear(hidden_dim, output_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(x), dim=-1)
