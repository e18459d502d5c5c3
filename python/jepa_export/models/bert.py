"""A sentence-transformers text encoder (Transformer -> Pooling -> Normalize, the layout of
all-MiniLM-L6-v2) over a BERT model, in TorchScript-compilable form:
forward(input_ids [B, L], attention_mask [B, L], token_type_ids=None) -> [B, hidden].

BERT is transformers' BertModel (models/bert/modeling_bert.py): word + token type + position
embeddings, LayerNorm; post-norm layers (self-attention with separate query/key/value, the
attention mask as in its SDPA path, output dense + LayerNorm of the residual sum, intermediate
dense + GELU, output dense + LayerNorm). The parameter names are the on-disk ones (no `bert.`
prefix, no pooler). Pooling follows sentence-transformers' Pooling module: 'mean' (the sum of the
tokens under the mask over the clamped mask count), 'cls' (the first unmasked token) or 'max';
`normalize` divides by the L2 norm as its Normalize module (F.normalize).
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import Activation


class BertEmbeddings(nn.Module):
    def __init__(self, vocab: int, dim: int, max_positions: int, type_vocab: int, eps: float):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, dim)
        self.position_embeddings = nn.Embedding(max_positions, dim)
        self.token_type_embeddings = nn.Embedding(type_vocab, dim)
        self.LayerNorm = nn.LayerNorm(dim, eps=eps)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        L = input_ids.shape[1]
        position_ids = torch.arange(L, device=input_ids.device).unsqueeze(0)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        x = x + self.position_embeddings(position_ids)
        return self.LayerNorm(x)


class BertSelfAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        B, L, C = x.shape
        q = self.query(x).view(B, L, -1, self.head_dim).transpose(1, 2)
        k = self.key(x).view(B, L, -1, self.head_dim).transpose(1, 2)
        v = self.value(x).view(B, L, -1, self.head_dim).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        return out.transpose(1, 2).reshape(B, L, C)


class BertDenseNorm(nn.Module):
    """`attention.output` / `output`: dense, then LayerNorm of the sum with the residual."""

    def __init__(self, dim_in: int, dim: int, eps: float):
        super().__init__()
        self.dense = nn.Linear(dim_in, dim)
        self.LayerNorm = nn.LayerNorm(dim, eps=eps)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class BertAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int, eps: float):
        super().__init__()
        self.self = BertSelfAttention(dim, num_heads)
        self.output = BertDenseNorm(dim, dim, eps)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(x, keep), x)


class BertIntermediate(nn.Module):
    def __init__(self, dim: int, hidden: int, act: str):
        super().__init__()
        self.dense = nn.Linear(dim, hidden)
        self.act = Activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.dense(x))


class BertLayer(nn.Module):
    def __init__(self, dim: int, num_heads: int, hidden: int, act: str, eps: float):
        super().__init__()
        self.attention = BertAttention(dim, num_heads, eps)
        self.intermediate = BertIntermediate(dim, hidden, act)
        self.output = BertDenseNorm(hidden, dim, eps)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        a = self.attention(x, keep)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, dim: int, depth: int, num_heads: int, hidden: int, act: str, eps: float):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(dim, num_heads, hidden, act, eps) for _ in range(depth)])

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        for layer in self.layer:
            x = layer(x, keep)
        return x


class SentenceEncoder(nn.Module):
    def __init__(self, vocab: int, dim: int, depth: int, num_heads: int, hidden: int, max_positions: int,
                 type_vocab: int = 2, act: str = "gelu", eps: float = 1e-12, pooling: str = "mean",
                 normalize: bool = True):
        super().__init__()
        if pooling not in ("mean", "cls", "max"):
            raise ValueError(f"unsupported pooling mode {pooling!r} (supported: mean, cls, max)")
        self.embeddings = BertEmbeddings(vocab, dim, max_positions, type_vocab, eps)
        self.encoder = BertEncoder(dim, depth, num_heads, hidden, act, eps)
        self.pooling = pooling
        self.normalize = normalize
        self.max_positions = max_positions

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        if input_ids.dim() != 2 or attention_mask.shape != input_ids.shape:
            raise ValueError("expected input_ids and attention_mask of the same shape [B, L]")
        if input_ids.shape[1] > self.max_positions:
            raise ValueError("the sequence is longer than the model's max_position_embeddings")
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        keep = (attention_mask != 0).unsqueeze(1).unsqueeze(1)
        x = self.encoder(self.embeddings(input_ids, token_type_ids), keep)
        mask = attention_mask.unsqueeze(-1).expand_as(x).to(x.dtype)
        if self.pooling == "cls":
            first = attention_mask.to(torch.int).argmax(dim=1)
            out = torch.gather(x, 1, first.unsqueeze(-1).unsqueeze(1).expand(-1, 1, x.shape[-1])).squeeze(1)
        elif self.pooling == "max":
            out = x.masked_fill(mask == 0, float("-inf")).max(dim=1).values
        else:
            out = (x * mask).sum(dim=1) / torch.clamp(mask.sum(dim=1), min=1e-9)
        if self.normalize:
            out = F.normalize(out, p=2.0, dim=1)
        return out
