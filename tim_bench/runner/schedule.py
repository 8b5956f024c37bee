"""The original TIM's learning rate: a cosine over all iterations times a linear warm-up factor.

The original builds ``CosineAnnealingLR(T_max=epochs * iters, eta_min=1e-6)`` and pytorch_warmup 0.1.1's
``LinearWarmup(warmup_period=warmup_epochs * iters)``, and after every optimiser step calls
``with warmup.dampening(): cosine.step()``. The lr of (0-based) iteration i is therefore

    (eta_min + (lr - eta_min) * (1 + cos(pi * i / T)) / 2) * min(1, (i + 1) / W)

the cosine starting at iteration 0, not after the warm-up. ``W = 0`` means no warm-up (the original
would divide by zero).
"""
from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler


def original_lr(it: int, base_lr: float, min_lr: float, warmup_iters: int, total_iters: int) -> float:
    """The original's lr at 0-based iteration ``it`` (closed form of its cosine x linear warm-up)."""
    cosine = min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * it / max(total_iters, 1))) / 2
    warm = min(1.0, (it + 1) / warmup_iters) if warmup_iters > 0 else 1.0
    return cosine * warm


class CosineTimesWarmup(LRScheduler):
    """``original_lr`` for every parameter group; ``step()`` after each optimiser step, as the original."""

    def __init__(self, optimizer: Optimizer, min_lr: float, warmup_iters: int, total_iters: int) -> None:
        self.min_lr, self.warmup_iters, self.total_iters = float(min_lr), int(warmup_iters), int(total_iters)
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        return [original_lr(self.last_epoch, base, self.min_lr, self.warmup_iters, self.total_iters)
                for base in self.base_lrs]


def warmup_cosine(optimizer: Optimizer, min_lr: float, warmup_iters: int, total_iters: int) -> CosineTimesWarmup:
    """The scheduler the trainer steps once per iteration (base lr taken from the optimiser)."""
    return CosineTimesWarmup(optimizer, min_lr, warmup_iters, total_iters)
