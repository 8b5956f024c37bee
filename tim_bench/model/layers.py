"""TIM's building blocks, with the original's maths and state-dict indices (time_mlp.0/2/4/6, embedder .1/.3)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def time_mlp(d_model: int) -> nn.Sequential:
    """Interval (start, stop) -> d: three Linear+ReLU (the last ReLU before the LayerNorm, as the original)."""
    return nn.Sequential(
        nn.Linear(2, d_model), nn.ReLU(),
        nn.Linear(d_model, d_model), nn.ReLU(),
        nn.Linear(d_model, d_model), nn.ReLU(),
        nn.LayerNorm(d_model),
    )


def feature_embedder(input_dim: int, d_model: int, feat_dropout: float) -> nn.Sequential:
    """Dropout on the raw feature, then Linear -> exact GELU -> LayerNorm."""
    return nn.Sequential(nn.Dropout(feat_dropout), nn.Linear(input_dim, d_model), nn.GELU(), nn.LayerNorm(d_model))


def drloc_mlp(d_model: int) -> nn.Sequential:
    """Predicts the normalised index distance of two feature tokens (4d -> d -> d -> 1)."""
    return nn.Sequential(nn.Linear(4 * d_model, d_model), nn.ReLU(), nn.Linear(d_model, d_model), nn.ReLU(),
                         nn.Linear(d_model, 1))


class SelfAttention(nn.Module):
    """Multi-head self-attention on torch's fused SDPA kernel, with nn.MultiheadAttention's packed weights."""

    def __init__(self, width: int, nhead: int, dropout: float) -> None:
        super().__init__()
        if width % nhead:
            raise ValueError(f"nhead={nhead} must divide the token width {width}.")
        self.nhead = nhead
        self.dropout = dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """x [B, S, W]; allowed [S, S] bool, True where a query position may attend a key position."""
        b, s, w = x.shape
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).view(b, s, 3, self.nhead, w // self.nhead) \
            .permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed,
                                             dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(out.transpose(1, 2).reshape(b, s, w))


class EncoderLayer(nn.Module):
    """Post-norm transformer layer with GELU, as the original's (and nn.TransformerEncoderLayer's) maths."""

    def __init__(self, width: int, nhead: int, ffn_width: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = SelfAttention(width, nhead, dropout)
        self.linear1 = nn.Linear(width, ffn_width)
        self.linear2 = nn.Linear(ffn_width, width)
        self.norm1 = nn.LayerNorm(width)
        self.norm2 = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.dropout1(self.self_attn(x, allowed)))
        return self.norm2(x + self.dropout2(self.linear2(self.dropout(F.gelu(self.linear1(x))))))


class Encoder(nn.Module):
    """A stack of post-norm layers with no final norm."""

    def __init__(self, width: int, nhead: int, ffn_width: int, dropout: float, num_layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(width, nhead, ffn_width, dropout) for _ in range(num_layers))

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, allowed)
        return x


def query_mask(num_tokens: int, num_feature_tokens: int, device: torch.device) -> torch.Tensor:
    """[S, S] bool, True = may attend: every token sees all feature tokens and itself, never another query."""
    allowed = torch.zeros(num_tokens, num_tokens, dtype=torch.bool, device=device)
    allowed[:, :num_feature_tokens] = True
    allowed.fill_diagonal_(True)
    return allowed
