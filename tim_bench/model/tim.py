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
    """Feature-level mixup of one batch: x <- lam * x + (1 - lam) * x[perm] (the loader draws both), computed as
    one interpolation, x[perm] + lam * (x - x[perm])."""

    lam: float | torch.Tensor
    perm: torch.Tensor

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        lam = self.lam.to(x.dtype) if isinstance(self.lam, torch.Tensor) else self.lam
        return torch.lerp(x[self.perm], x, lam)


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

        # token = [content | time] + its stream's modality encoding, built as one [B, S, 2d] sequence: one
        # concatenation per half and one addition (not one per token group: a GPU step is bound by launches)
        b = time_enc.shape[0]
        content = [self.embedders[s](feats[s]) for s in self.streams]
        num_feature_tokens = sum(c.shape[1] for c in content)
        group_times = [time_parts[s] for s in self.streams]
        group_streams = list(self.streams)
        spans: dict[str, tuple[int, int]] = {}
        offset = num_feature_tokens
        for task in self.tasks:
            q_time = time_parts[f"q_{task.stream}"]
            content.append(self.query_tokens[task.key].expand(b, q_time.shape[1], -1))
            group_times.append(q_time)
            group_streams.append(task.stream)
            spans[task.key] = (offset, offset + q_time.shape[1])
            offset += q_time.shape[1]
        # with one task per query stream the time encodings are already in token order
        in_order = [t.stream for t in self.tasks] == list(self.query_streams)
        seq = torch.cat([torch.cat(content, dim=1), time_enc if in_order else torch.cat(group_times, dim=1)], dim=-1)
        if self.modality_encodings:
            seq = seq + self._modality_rows(group_streams, [t.shape[1] for t in group_times])
        if query_index is not None and not return_internals:
            return self._forward_packed(seq, num_feature_tokens, spans, query_index)
        seq = self.seq_dropout(seq)
        if return_internals:
            internals["encoder_input"] = seq
            internals["allowed"] = query_mask(seq.shape[1], num_feature_tokens, seq.device)
        out = self.encoder(seq, num_feature_tokens)
        # split, not sliced: the backward joins the parts' gradients in one copy
        feature_out, *query_out = out.split([num_feature_tokens, *(b - a for a, b in spans.values())], dim=1)
        logits = {key: self.heads[key](q) for key, q in zip(spans, query_out)}
        return TIMOutput(logits, feature_out, internals if return_internals else {})

    def _modality_rows(self, group_streams: list[str], group_sizes: list[int]) -> torch.Tensor:
        """[1, S, 2d]: each token group's stream encoding, one block per run of groups of the same stream."""
        runs: list[list] = []  # [stream, tokens]
        for stream, size in zip(group_streams, group_sizes):
            if runs and runs[-1][0] == stream:
                runs[-1][1] += size
            else:
                runs.append([stream, size])
        return torch.cat([self.modality_encodings[s].expand(1, n, -1) for s, n in runs], dim=1)

    def _forward_packed(self, seq: torch.Tensor, num_feature_tokens: int, spans: Mapping[str, tuple[int, int]],
                        query_index: Mapping[str, torch.Tensor]) -> TIMOutput:
        """Encode the feature tokens and only the real query tokens (one ``[B*F + N, W]`` tensor), then scatter each
        task's logits back to ``[B, Nq, C]`` (zeros at padding, which carries IGNORE_LABEL)."""
        b, s, w = seq.shape
        f = num_feature_tokens
        total_slots = s - f
        rows, slots = [seq[:, :f].reshape(b * f, w)], []
        for task, (start, stop) in zip(self.tasks, spans.values()):
            index, nq = query_index[task.stream], stop - start
            window = torch.div(index, nq, rounding_mode="floor")
            within = index - window * nq
            rows.append(seq[window, start + within])
            slots.append(window * total_slots + (start - f) + within)
        layout = PackedLayout(b, f, total_slots, torch.cat(slots))
        out = self.encoder(self.seq_dropout(torch.cat(rows)), f, layout)
        logits, start = {}, b * f
        for task, (a, z) in zip(self.tasks, spans.values()):
            index, nq = query_index[task.stream], z - a
            real = self.heads[task.key](out[start:start + index.shape[0]])
            logits[task.key] = real.new_zeros(b * nq, real.shape[-1]).index_copy(0, index, real).view(b, nq, -1)
            start += index.shape[0]
        return TIMOutput(logits, out[:b * f].view(b, f, w))
