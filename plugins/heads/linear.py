"""The original TIM head: one Linear on the 2d-wide query token, no norm or dropout before it."""
from __future__ import annotations

import torch
from torch import nn

from tim_bench_registry import HEADS


@HEADS.register_module()
class LinearHead(nn.Module):
    """Query tokens ``[..., in_dim]`` -> logits ``[..., num_classes]``."""

    def __init__(self, in_dim: int, num_classes: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_dim, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.fc(tokens)
