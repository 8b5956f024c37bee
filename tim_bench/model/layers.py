"""TIM's building blocks, with the original's maths and state-dict indices (time_mlp.0/2/4/6, embedder .1/.3)."""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

#: SDPA kernels the feature attention may use: not cuDNN's, which builds (and caches) a plan per input shape and
#: stride; batches differ in query count, so that cost recurred on many steps (measured 5x slower on an H200)
SDPA_BACKENDS = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]


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


@dataclass(frozen=True)
class PackedLayout:
    """Where the rows of a packed token tensor ``[B*F + N, W]`` come from: ``B`` windows' ``F`` feature tokens
    (window-major), then the ``N`` real query tokens, query ``n`` sitting in slot ``slots[n]`` of the padded
    ``[B, Q]`` query layout (window ``slots[n] // Q``). Padding queries are simply absent."""

    batch: int
    num_feature_tokens: int
    query_slots: int
    slots: torch.Tensor  # [N] int64, distinct

    def to_slots(self, x: torch.Tensor) -> torch.Tensor:
        """Packed query rows ``[N, h, k]`` -> ``[B, h, Q, k]`` with zeros in the padding slots."""
        b, q = self.batch, self.query_slots
        padded = x.new_zeros((b * q, *x.shape[1:])).index_copy(0, self.slots, x)
        return padded.view(b, q, *x.shape[1:]).transpose(1, 2)

    def from_slots(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, h, Q, k]`` -> the packed query rows ``[N, h, k]``."""
        b, h, q, k = x.shape
        return x.transpose(1, 2).reshape(b * q, h, k).index_select(0, self.slots)


class SelfAttention(nn.Module):
    """TIM's multi-head self-attention without a mask, with nn.MultiheadAttention's packed weights.

    The first ``num_feature_tokens`` tokens attend to all feature tokens (one fused SDPA call); every
    later (query) token attends to the feature tokens plus itself: softmax over [q.K_features, q.k_self].
    That is exactly the original's masked attention, and padded queries never touch real ones.
    """

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

    def forward(self, x: torch.Tensor, num_feature_tokens: int) -> torch.Tensor:
        """x [B, S, W] with the feature tokens first -> [B, S, W]."""
        b, s, w = x.shape
        f = num_feature_tokens
        p = self.dropout if self.training else 0.0
        # one GEMM for features and queries (split, not sliced: the backward joins the two gradients in one copy),
        # each part laid out head-major once, so every product below reads views and the feature attention's
        # inputs have the same shape and strides whatever the batch's query count (kernels that cache a plan per
        # shape and stride then reuse it)
        features, queries = (self._heads(part) for part in
                             F.linear(x, self.in_proj_weight, self.in_proj_bias).split([f, s - f], dim=1))
        qf, kf, vf = features.unbind(0)                                         # each [B, h, F, d]
        with sdpa_kernel(SDPA_BACKENDS):
            out = F.scaled_dot_product_attention(qf, kf, vf, dropout_p=p).transpose(1, 2)  # [B, F, h, d]
        if s > f:
            qq, kq, vq = queries.unbind(0)                                      # each [B, h, Q, d]
            out_q = self._query_attention(qq, kq, vq, kf, vf, p, torch.matmul)
            out = torch.cat([out, out_q.transpose(1, 2)], dim=1)                # [B, S, h, d], one copy
        return self.out_proj(out.reshape(b, s, w))

    def forward_packed(self, x: torch.Tensor, layout: PackedLayout) -> torch.Tensor:
        """The same attention on packed tokens ``[B*F + N, W]`` (see PackedLayout): every projection runs on real
        tokens only; the query-feature products run in the padded slot layout, which padding never reads."""
        b, f, w = layout.batch, layout.num_feature_tokens, x.shape[-1]
        h, d = self.nhead, w // self.nhead
        p = self.dropout if self.training else 0.0
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)       # one GEMM for features and queries
        qf, kf, vf = qkv[:b * f].view(b, f, 3, h, d).permute(2, 0, 3, 1, 4).unbind(0)   # each [B, h, F, d]
        with sdpa_kernel(SDPA_BACKENDS):
            out_f = F.scaled_dot_product_attention(qf, kf, vf, dropout_p=p)
        out_f = out_f.transpose(1, 2).reshape(b * f, w)
        qq, kq, vq = qkv[b * f:].view(-1, 3, h, d).unbind(1)          # each [N, h, d]
        out_q = self._query_attention(qq, kq, vq, kf, vf, p,
                                      lambda rows, m: layout.from_slots(layout.to_slots(rows) @ m))
        return self.out_proj(torch.cat([out_f, out_q.reshape(-1, w)], dim=0))

    def _heads(self, qkv: torch.Tensor) -> torch.Tensor:
        """Projected tokens [B, n, 3W] -> [3 (q, k, v), B, heads, n, W / heads], contiguous."""
        b, n, w3 = qkv.shape
        return qkv.view(b, n, 3, self.nhead, w3 // (3 * self.nhead)).permute(2, 0, 3, 1, 4).contiguous()

    def _query_attention(self, qq: torch.Tensor, kq: torch.Tensor, vq: torch.Tensor, kf: torch.Tensor,
                         vf: torch.Tensor, p: float,
                         by_features: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Each query's attention over the feature tokens and itself: softmax over [q.K_features, q.k_self] in
        fp32 (the upcast fused into the softmax where the device can). ``qq``/``kq``/``vq`` [..., h, d] per query;
        ``by_features(a, m)`` is the product of per-query rows ``a`` with the features' ``m`` [B, h, ., .]."""
        f = kf.shape[-2]
        logits = torch.cat([by_features(qq, kf.transpose(-1, -2)), (qq * kq).sum(-1, keepdim=True)], dim=-1)
        probs = torch.softmax(logits * qq.shape[-1] ** -0.5, dim=-1, dtype=torch.float32).to(vf.dtype)
        to_features, to_self = F.dropout(probs, p, self.training).split([f, 1], dim=-1)
        return by_features(to_features, vf) + to_self * vq


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

    def forward(self, x: torch.Tensor, num_feature_tokens: int, layout: PackedLayout | None = None) -> torch.Tensor:
        """Padded tokens ``[B, S, W]``, or packed tokens ``[B*F + N, W]`` when ``layout`` says how they are packed."""
        attended = self.self_attn(x, num_feature_tokens) if layout is None else self.self_attn.forward_packed(x, layout)
        x = self.norm1(x + self.dropout1(attended))
        return self.norm2(x + self.dropout2(self.linear2(self.dropout(F.gelu(self.linear1(x))))))


#: ``model.encoder_init`` values: "cloned" builds one layer and deep-copies it (the original's _get_clones, as
#: nn.TransformerEncoder does), so every layer starts with the same weights; "independent" draws each layer anew
ENCODER_INITS = ("cloned", "independent")


class Encoder(nn.Module):
    """A stack of post-norm layers with no final norm; ``init`` is one of ``ENCODER_INITS``."""

    def __init__(self, width: int, nhead: int, ffn_width: int, dropout: float, num_layers: int,
                 init: str = "cloned") -> None:
        super().__init__()
        if init not in ENCODER_INITS:
            raise ValueError(f"encoder_init={init!r}; use one of {ENCODER_INITS} ('cloned' is the original's).")
        if init == "cloned":
            first = EncoderLayer(width, nhead, ffn_width, dropout)
            self.layers = nn.ModuleList(copy.deepcopy(first) for _ in range(num_layers))
        else:
            self.layers = nn.ModuleList(EncoderLayer(width, nhead, ffn_width, dropout) for _ in range(num_layers))

    def forward(self, x: torch.Tensor, num_feature_tokens: int, layout: PackedLayout | None = None) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, num_feature_tokens, layout)
        return x


def query_mask(num_tokens: int, num_feature_tokens: int, device: torch.device) -> torch.Tensor:
    """[S, S] bool, True = may attend (what the mask-free attention computes; built only for inspection): every token sees all feature tokens and itself, never another query."""
    allowed = torch.zeros(num_tokens, num_tokens, dtype=torch.bool, device=device)
    allowed[:, :num_feature_tokens] = True
    allowed.fill_diagonal_(True)
    return allowed
