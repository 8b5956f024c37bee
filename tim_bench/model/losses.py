"""TIM's training objective: label-smoothed CE per task (with mixup), stream weights, and DRLoc."""
from __future__ import annotations

import functools
import operator
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from tim_bench_registry import IGNORE_LABEL, Task

from .tim import Mix


def drloc_loss(mlp: nn.Module, feature_tokens: torch.Tensor, num_streams: int, m: int,
               positions: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Dense relative localisation: predict |i - j| / F for m random token pairs per window.

    With two streams the pair is cross-modal (visual token i, audio token j); with one stream both
    come from it. Returns the L1 loss and its parts (for parity checks).
    """
    b, total, _ = feature_tokens.shape
    length = total // num_streams
    if positions is None:
        # drawn on the tokens' device: no host-to-device copy inside the training step
        pos_1 = torch.randint(length, (b, m), device=feature_tokens.device)
        pos_2 = torch.randint(length, (b, m), device=feature_tokens.device)
    else:
        pos_1, pos_2 = (p.to(feature_tokens.device) for p in positions)
    target = (pos_1 - pos_2).abs() / length  # true division: float32, as the original's .float() / F
    # both tokens of a pair in one gather, [B, m, 2, W] -> [B, m, 2W]: the concatenation [x1[i], x2[j]]
    pairs = torch.stack([pos_1, pos_2 + length if num_streams == 2 else pos_2], dim=-1)
    batch = torch.arange(b, device=feature_tokens.device).view(b, 1, 1)
    mlp_input = feature_tokens[batch, pairs].flatten(2)
    pred = mlp(mlp_input).squeeze(-1)
    loss = F.l1_loss(pred.float(), target)
    return loss, {"pos_1": pos_1, "pos_2": pos_2, "mlp_input": mlp_input, "pred": pred, "target": target}


class TIMLoss(nn.Module):
    """Total = sum over streams of lambda_stream * mean(task CE) + lambda_drloc * DRLoc.

    Task CE uses label smoothing and ignores IGNORE_LABEL; with mixup it is
    lam * CE(y) + (1 - lam) * CE(y[perm]), each over its own valid positions (as the original).
    With ``drop_partial_labels`` (default, the original's rule) a query whose label is IGNORE_LABEL for
    any task of its stream is left out of all that stream's losses: the original trains verb and noun
    only on segments whose action is in its action vocabulary (``target['action'] != -1``).

    Computed with few kernels (a GPU step is bound by their launches): each task's log-softmax runs once, in
    fp32, for both mixup targets, and the row weights (validity, mean, mixup coefficient) once per stream.
    """

    def __init__(self, tasks: tuple[Task, ...], label_smoothing: float = 0.2,
                 stream_weights: Mapping[str, float] | None = None, lambda_drloc: float = 0.3,
                 m_drloc: int = 32, drop_partial_labels: bool = True) -> None:
        super().__init__()
        self.tasks = tasks
        self.label_smoothing = label_smoothing
        self.stream_weights = {"visual": 1.0, "audio": 1.0, **(stream_weights or {})}
        self.lambda_drloc = lambda_drloc
        self.m_drloc = m_drloc
        self.drop_partial_labels = drop_partial_labels

    def _stream_targets(self, labels: Mapping[str, torch.Tensor], tasks: list[Task],
                        mix: Mix | None, coef: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """For ``tasks`` (one stream's): class targets [B*Nq, T, k] (k = 2 with mixup: y, y[perm]; IGNORE_LABEL
        clamped to 0) and row weights [B*Nq, T or 1, k] float32: 1 / (valid count) at the queries that count
        (``drop_partial_labels``: those valid for every task of the stream, one column), times ``coef`` (lam,
        1 - lam) with mixup, so a weighted sum is the (mixed) mean CE. A target with no valid query weighs 0
        without a host sync."""
        ys = torch.stack([labels[t.key] for t in tasks], dim=-1)                # [B, Nq, T]
        valid = ys != IGNORE_LABEL
        if self.drop_partial_labels:
            valid = valid.all(-1, keepdim=True) if len(tasks) > 1 else valid
        if mix is not None:
            ys, valid = torch.stack([ys, ys[mix.perm]], dim=-1), torch.stack([valid, valid[mix.perm]], dim=-1)
        else:
            ys, valid = ys.unsqueeze(-1), valid.unsqueeze(-1)
        ys, valid = ys.flatten(0, 1).clamp_min(0), valid.flatten(0, 1)
        weights = valid / valid.sum(0).clamp_min(1)
        return ys, weights if coef is None else weights * coef

    def _ce(self, logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Weighted label-smoothed CE of ``logits`` [B, Nq, C] against ``targets`` [B*Nq, k], in fp32 (as under
        the original's autocast): per row (1 - eps) * -log p[y] + eps / C * -sum log p (F.cross_entropy's), the
        log-softmax computed once for all k targets."""
        eps, classes = self.label_smoothing, logits.shape[-1]
        log_probs = F.log_softmax(logits.reshape(-1, classes), dim=-1, dtype=torch.float32)
        rows = log_probs.gather(-1, targets).mul(eps - 1.0).sub(log_probs.sum(-1, keepdim=True), alpha=eps / classes)
        return torch.dot(rows.flatten(), weights.flatten())

    def forward(self, logits: Mapping[str, torch.Tensor], labels: Mapping[str, torch.Tensor],
                feature_tokens: torch.Tensor, drloc_head: nn.Module, num_streams: int,
                mix: Mix | None = None) -> dict[str, torch.Tensor]:
        parts: dict[str, torch.Tensor] = {}
        coef = None
        if mix is not None:
            lam = mix.lam
            coef = (torch.stack([lam, 1.0 - lam]).float() if isinstance(lam, torch.Tensor)
                    else torch.tensor([lam, 1.0 - lam]))
            coef = coef.to(feature_tokens.device)
        streams: dict[str, list[Task]] = {}
        for task in self.tasks:
            streams.setdefault(task.stream, []).append(task)
        stream_losses = []
        for stream, tasks in streams.items():
            targets, weights = self._stream_targets(labels, tasks, mix, coef)
            losses = []
            for i, task in enumerate(tasks):
                weight = weights[:, min(i, weights.shape[1] - 1)]  # one column when the stream shares its rows
                parts[f"loss_{task.key}"] = loss = self._ce(logits[task.key], targets[:, i], weight)
                losses.append(loss)
            stream_losses.append(self.stream_weights[stream] * (torch.stack(losses).mean() if len(losses) > 1
                                                                else losses[0]))
        total = functools.reduce(operator.add, stream_losses)
        if self.lambda_drloc > 0:
            parts["loss_drloc"], _ = drloc_loss(drloc_head, feature_tokens, num_streams, self.m_drloc)
            total = total + self.lambda_drloc * parts["loss_drloc"]
        parts["loss"] = total
        return parts
