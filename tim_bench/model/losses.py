"""TIM's training objective: label-smoothed CE per task (with mixup), stream weights, and DRLoc."""
from __future__ import annotations

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
    x1 = feature_tokens[:, :length]
    x2 = feature_tokens[:, length:2 * length] if num_streams == 2 else x1
    if positions is None:
        # drawn on the tokens' device: no host-to-device copy inside the training step
        pos_1 = torch.randint(length, (b, m), device=feature_tokens.device)
        pos_2 = torch.randint(length, (b, m), device=feature_tokens.device)
    else:
        pos_1, pos_2 = (p.to(feature_tokens.device) for p in positions)
    target = (pos_1 - pos_2).abs().float() / length
    batch = torch.arange(b, device=feature_tokens.device).unsqueeze(1)
    mlp_input = torch.cat([x1[batch, pos_1], x2[batch, pos_2]], dim=-1)
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

    def _valid(self, labels: Mapping[str, torch.Tensor], task: Task) -> torch.Tensor:
        """[B, Nq] bool: the queries that count in ``task``'s loss."""
        if not self.drop_partial_labels:
            return labels[task.key] != IGNORE_LABEL
        mask = torch.ones_like(labels[task.key], dtype=torch.bool)
        for other in self.tasks:
            if other.stream == task.stream:
                mask &= labels[other.key] != IGNORE_LABEL
        return mask

    def _ce(self, logits: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        logits, labels, valid = logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), valid.reshape(-1)
        # Mean over valid rows; a batch with no valid row contributes 0 without a host sync.
        losses = F.cross_entropy(logits.float(), labels.clamp_min(0), reduction="none",
                                 label_smoothing=self.label_smoothing)
        return (losses * valid).sum() / valid.sum().clamp_min(1)

    def forward(self, logits: Mapping[str, torch.Tensor], labels: Mapping[str, torch.Tensor],
                feature_tokens: torch.Tensor, drloc_head: nn.Module, num_streams: int,
                mix: Mix | None = None) -> dict[str, torch.Tensor]:
        parts: dict[str, torch.Tensor] = {}
        per_stream: dict[str, list[torch.Tensor]] = {}
        for task in self.tasks:
            y, valid = labels[task.key], self._valid(labels, task)
            loss = self._ce(logits[task.key], y, valid)
            if mix is not None:
                loss = mix.lam * loss + (1.0 - mix.lam) * self._ce(logits[task.key], y[mix.perm], valid[mix.perm])
            parts[f"loss_{task.key}"] = loss
            per_stream.setdefault(task.stream, []).append(loss)
        total = sum(self.stream_weights[s] * torch.stack(v).mean() for s, v in per_stream.items())
        if self.lambda_drloc > 0:
            parts["loss_drloc"], _ = drloc_loss(drloc_head, feature_tokens, num_streams, self.m_drloc)
            total = total + self.lambda_drloc * parts["loss_drloc"]
        parts["loss"] = total
        return parts
