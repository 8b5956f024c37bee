"""TIM, the Time Interval Machine: features and interval queries of both streams in one masked encoder.

Token order is the original's: F visual features, F audio features, then per stream (visual first)
and per task (in the dataset's order, e.g. verb, noun, action) one token per query. Queries see
all feature tokens and themselves only, so padding queries never changes real ones; the encoder
computes that without a mask (see layers.SelfAttention). Given ``query_index`` (where the real queries sit),
the encoder runs on the real tokens only (layers.PackedLayout): the same maths without the padding's FLOPs.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from tim_bench_registry import HEADS, MODELS, STREAMS, Task, build

from .avga import AVGA
from .layers import Encoder, PackedLayout, drloc_mlp, feature_embedder, query_mask, time_mlp


@dataclass
class Mix:
    """Feature-level mixup of one batch: x <- lam * x + (1 - lam) * x[perm] (the loader draws both)."""

    lam: float | torch.Tensor
    perm: torch.Tensor

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.lam * x + (1.0 - self.lam) * x[self.perm]


@dataclass
class TIMOutput:
    """Logits per task key ``[B, Nq_stream, C]``, the encoded feature tokens, and (on request) internals."""

    logits: dict[str, torch.Tensor]
    feature_tokens: torch.Tensor
    internals: dict[str, torch.Tensor] = field(default_factory=dict)


@MODELS.register_module()
class TIM(nn.Module):
    """The Time Interval Machine (Chalk et al., CVPR 2024), recognition variant.

    Args:
        input_dims: feature width per stream the model reads, e.g. ``{"visual": 512, "audio": 128}``.
        tasks: the classification tasks; their streams are the query streams.
        d_model: embedding width d; tokens are 2d wide (content | time).
        pool_features: AVGA pooling of [T, 7, 7, Dv] visual maps guided by audio (AVE VGG recipe).
        head: HEADS config applied to every task (``in_dim`` and ``num_classes`` are filled in).
        encoder_init: "cloned" (the original's: one layer deep-copied, every layer starts identical) or
            "independent" (each layer drawn anew).
    """

    def __init__(self, input_dims: Mapping[str, int], tasks: Sequence[Task], d_model: int = 512, nhead: int = 8,
                 num_layers: int = 4, feedforward_scale: int = 4, enc_dropout: float = 0.1,
                 feat_dropout: float = 0.5, seq_dropout: float = 0.5, pool_features: bool = False,
                 head: Mapping | None = None, encoder_init: str = "cloned") -> None:
        super().__init__()
        self.streams = tuple(s for s in STREAMS if s in input_dims)
        if not self.streams:
            raise ValueError(f"TIM needs input_dims for at least one of {STREAMS}; got {dict(input_dims)}.")
        self.tasks = tuple(tasks)
        self.query_streams = tuple(s for s in STREAMS if any(t.stream == s for t in self.tasks))
        # A stream may be queried without its own features (the original's --model_modality visual on audio-visual
        # data): its queries then read the other stream's feature tokens.
        if pool_features and self.streams != ("visual", "audio"):
            raise ValueError("pool_features (AVGA) needs both visual maps and audio features.")
        self.d_model = d_model
        self.input_dims = {s: int(input_dims[s]) for s in self.streams}
        width = 2 * d_model

        self.time_mlp = time_mlp(d_model)
        self.embedders = nn.ModuleDict({s: feature_embedder(self.input_dims[s], d_model, feat_dropout)
                                        for s in self.streams})
        # Modality encodings exist only when the model reads both streams (as in the original).
        self.modality_encodings = nn.ParameterDict(
            {s: nn.Parameter(torch.empty(1, 1, width).normal_(std=0.01)) for s in self.streams}
            if len(self.streams) == 2 else {})
        self.query_tokens = nn.ParameterDict(
            {t.key: nn.Parameter(torch.empty(1, 1, d_model).normal_(std=0.01)) for t in self.tasks})
        head_cfg = dict(head or {"type": "LinearHead"})
        self.heads = nn.ModuleDict({t.key: build(HEADS, head_cfg, in_dim=width, num_classes=t.num_classes)
                                    for t in self.tasks})
        self.encoder = Encoder(width, nhead, feedforward_scale * d_model, enc_dropout, num_layers, encoder_init)
        self.drloc_mlp = drloc_mlp(d_model)
        self.pool = AVGA(self.input_dims["audio"], self.input_dims["visual"]) if pool_features else None
        self.seq_dropout = nn.Dropout(seq_dropout)

    def forward(self, features: Mapping[str, torch.Tensor], feature_times: Mapping[str, torch.Tensor],
                query_times: Mapping[str, torch.Tensor], mix: Mix | None = None,
                return_internals: bool = False, query_index: Mapping[str, torch.Tensor] | None = None) -> TIMOutput:
        """Classify every query interval.

        Args:
            features: per stream ``[B, F, D]`` (visual ``[B, F, 7, 7, D]`` with AVGA).
            feature_times: per stream ``[B, F, 2]`` intervals in window units.
            query_times: per query stream ``[B, Nq, 2]`` intervals in window units (padding may be (0, 0)).
            mix: feature-level mixup of features and time encodings (training only).
            query_index: per query stream, the flat positions ``b * Nq + i`` (increasing) of the real queries in
                ``[B, Nq]``; the encoder then skips padding queries, whose logits come back as zeros.
        """
        internals: dict[str, torch.Tensor] = {}
        feats = {s: features[s] for s in self.streams}
        if mix is not None:
            feats = {s: mix(x) for s, x in feats.items()}
        if self.pool is not None:
            feats["visual"] = self.pool(feats["visual"], feats["audio"])
            internals["pooled_visual"] = feats["visual"]

        rows = [feature_times[s] for s in self.streams] + [query_times[s] for s in self.query_streams]
        times = torch.cat(rows, dim=1)
        time_enc = self.time_mlp(times.to(self.time_mlp[0].weight.dtype))
        if mix is not None:
            time_enc = mix(time_enc)
        internals["time_encodings"] = time_enc
        time_parts = dict(zip([*self.streams, *(f"q_{s}" for s in self.query_streams)],
                              time_enc.split([r.shape[1] for r in rows], dim=1)))

        tokens = []
        for s in self.streams:
            tok = torch.cat([self.embedders[s](feats[s]), time_parts[s]], dim=-1)
            tokens.append(tok + self.modality_encodings[s] if self.modality_encodings else tok)
        num_feature_tokens = sum(t.shape[1] for t in tokens)
        spans: dict[str, tuple[int, int]] = {}
        offset = num_feature_tokens
        for task in self.tasks:
            q_time = time_parts[f"q_{task.stream}"]
            cls = self.query_tokens[task.key].expand(q_time.shape[0], q_time.shape[1], -1)
            tok = torch.cat([cls, q_time], dim=-1)
            tokens.append(tok + self.modality_encodings[task.stream] if self.modality_encodings else tok)
            spans[task.key] = (offset, offset + q_time.shape[1])
            offset += q_time.shape[1]
        if query_index is not None and not return_internals:
            return self._forward_packed(tokens[:len(self.streams)], tokens[len(self.streams):], query_index)
        seq = self.seq_dropout(torch.cat(tokens, dim=1))
        if return_internals:
            internals["encoder_input"] = seq
            internals["allowed"] = query_mask(seq.shape[1], num_feature_tokens, seq.device)
        out = self.encoder(seq, num_feature_tokens)
        logits = {key: self.heads[key](out[:, a:b]) for key, (a, b) in spans.items()}
        return TIMOutput(logits, out[:, :num_feature_tokens], internals if return_internals else {})

    def _forward_packed(self, feature_tokens: list[torch.Tensor], query_tokens: list[torch.Tensor],
                        query_index: Mapping[str, torch.Tensor]) -> TIMOutput:
        """Encode the feature tokens and only the real query tokens (one ``[B*F + N, W]`` tensor), then scatter each
        task's logits back to ``[B, Nq, C]`` (zeros at padding, which carries IGNORE_LABEL)."""
        feats = torch.cat(feature_tokens, dim=1)
        b, f, w = feats.shape
        total_slots = sum(tok.shape[1] for tok in query_tokens)
        rows, slots, offset = [feats.reshape(b * f, w)], [], 0
        for task, tok in zip(self.tasks, query_tokens):
            index, nq = query_index[task.stream], tok.shape[1]
            rows.append(tok.reshape(b * nq, w).index_select(0, index))
            window = torch.div(index, nq, rounding_mode="floor")
            slots.append(window * total_slots + offset + (index - window * nq))
            offset += nq
        layout = PackedLayout(b, f, total_slots, torch.cat(slots))
        out = self.encoder(self.seq_dropout(torch.cat(rows)), f, layout)
        logits, start = {}, b * f
        for task, tok in zip(self.tasks, query_tokens):
            index, nq = query_index[task.stream], tok.shape[1]
            real = self.heads[task.key](out[start:start + index.shape[0]])
            logits[task.key] = real.new_zeros(b * nq, real.shape[-1]).index_copy(0, index, real).view(b, nq, -1)
            start += index.shape[0]
        return TIMOutput(logits, out[:b * f].view(b, f, w))
