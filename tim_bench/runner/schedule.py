"""Linear warm-up then cosine decay to ``min_lr``, stepped every iteration (the original's schedule)."""
from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def warmup_cosine(optimizer: Optimizer, base_lr: float, min_lr: float, warmup_iters: int, total_iters: int) -> LambdaLR:
    """lr rises linearly from ~0 to ``base_lr`` over ``warmup_iters``, then follows a cosine to ``min_lr``."""
    floor = min_lr / base_lr if base_lr > 0 else 0.0

    def factor(it: int) -> float:
        if it < warmup_iters:
            return (it + 1) / warmup_iters
        span = max(total_iters - warmup_iters, 1)
        progress = min((it - warmup_iters) / span, 1.0)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    return LambdaLR(optimizer, factor)
