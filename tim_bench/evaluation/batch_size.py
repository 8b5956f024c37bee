"""The inference batch size: ``test_cfg.batch_size``, or the candidate with the most windows/s in a short timed
probe on the split's own first windows (``test_cfg.probe_batch_size``; by default on one CUDA device only).

Windows never see each other and inference has no batch statistics, so the batch size changes no prediction
beyond float rounding (kernels may sum in another order); it changes only how fast a split is scored. The probe
times the eager forward of the layout inference runs (compiling each candidate would cost more than the probe
saves), with no gradients, in the model's evaluation precision. Candidates grow from ``test_cfg.batch_size``; an
out-of-memory candidate, or one that would take more than ``MEMORY_SHARE`` of the device memory the run does not
already hold (training needs the rest), ends the probe, its memory freed.
"""
from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from ..data.dataset import WindowBatches, finish_batch
from ..data.split import SplitData

log = logging.getLogger("tim_bench")
#: test_cfg.probe_batch_size: "auto" probes on one CUDA device only, True on any device, False never
PROBE_VALUES = ("auto", True, False)
#: the candidates, as multiples of test_cfg.batch_size (capped at the split's window count)
SCALES = (1, 2, 4, 8, 16)
#: a candidate may take at most this share of the device memory not already allocated when the probe starts
MEMORY_SHARE = 0.5
#: timed calls per candidate (after one untimed call)
TIMED_CALLS = 3


@dataclass(frozen=True)
class BatchChoice:
    """The inference batch size a split is scored with, how it was chosen, and what the probe measured."""

    batch_size: int
    chosen_by: str  # "test_cfg.batch_size" or "probe"
    windows_per_s: dict[int, float] = field(default_factory=dict)  # per candidate probed
    stopped: str | None = None  # why the probe ended before its last candidate

    def describe(self) -> dict[str, Any]:
        """The run record's view of the choice."""
        out: dict[str, Any] = {"batch_size": self.batch_size, "chosen_by": self.chosen_by}
        if self.windows_per_s:
            out["probe_windows_per_s"] = {str(b): round(v, 1) for b, v in self.windows_per_s.items()}
        if self.stopped:
            out["probe_stopped"] = self.stopped
        return out


def wants_probe(value: object, device_type: str, world_size: int = 1) -> bool:
    """Whether ``test_cfg.probe_batch_size`` asks for a probe on this device: "auto" on one CUDA process, True on
    one process of any device (several processes keep ``test_cfg.batch_size``: each would choose alone)."""
    if world_size > 1:
        if value is True:
            log.warning("warning: test_cfg.probe_batch_size=True is single-process only; the %d processes infer at "
                        "test_cfg.batch_size.", world_size)
        return False
    return value is True or (value == "auto" and device_type == "cuda")


def candidates(base: int, windows: int) -> list[int]:
    """``base`` times each of ``SCALES``, none past the split's ``windows`` (the largest useful batch)."""
    sizes = sorted({min(base * s, windows) for s in SCALES if windows > 0})
    return sizes or [base]


def choose_batch_size(probe: object, base: int, forward: Callable[[Mapping], Any], model: torch.nn.Module,
                      data: SplitData, device: torch.device, what: str, world_size: int = 1) -> BatchChoice:
    """The batch size to infer ``what`` (split ``data``, whose loader made its batches) at: ``base``
    (test_cfg.batch_size), or with a probe the fastest candidate; the choice is logged."""
    if not wants_probe(probe, device.type, world_size):
        return BatchChoice(base, "test_cfg.batch_size")
    choice = probe_batch_size(forward, model, data.batches(), device, base)
    rates = ", ".join(f"{b}: {v:,.0f}" for b, v in choice.windows_per_s.items())
    log.info("inference batch size for %s: %d, the fastest of a probe on its first windows (windows/s by batch "
             "size: %s%s); the batch size changes no prediction beyond float rounding (test_cfg.probe_batch_size="
             "False keeps test_cfg.batch_size=%d)", what, choice.batch_size, rates,
             f"; {choice.stopped}" if choice.stopped else "", base)
    return choice


def probe_batch_size(forward: Callable[[Mapping], Any], model: torch.nn.Module, dataset: WindowBatches,
                     device: torch.device, base: int, timed_calls: int = TIMED_CALLS) -> BatchChoice:
    """Time ``forward`` on the split's first windows at each candidate batch size and choose the fastest."""
    rates: dict[int, float] = {}
    stopped = None
    cuda = device.type == "cuda"
    held = torch.cuda.memory_allocated(device) if cuda else 0
    budget = MEMORY_SHARE * (torch.cuda.get_device_properties(device).total_memory - held) if cuda else None
    was_training = model.training
    model.eval()
    try:
        for size in candidates(base, len(dataset)):
            if cuda:
                torch.cuda.reset_peak_memory_stats(device)
            try:
                rate = _windows_per_s(forward, dataset, device, size, timed_calls)
            except torch.OutOfMemoryError:
                rate = None
            if rate is None:  # the memory is freed outside the except block, whose traceback holds the tensors
                gc.collect()
                torch.cuda.empty_cache()
                stopped = f"batch size {size} ran out of device memory"
                break
            extra = torch.cuda.max_memory_allocated(device) - held if cuda else 0
            if budget is not None and rates and extra > budget:
                stopped = (f"batch size {size} took {extra / 2**30:.1f} GiB, more than {MEMORY_SHARE:.0%} of the "
                           f"device memory free for it")
                torch.cuda.empty_cache()
                break
            rates[size] = rate
    finally:
        model.train(was_training)
    best = max(rates, key=lambda b: rates[b]) if rates else base
    return BatchChoice(best, "probe", rates, stopped)


@torch.no_grad()
def _windows_per_s(forward: Callable[[Mapping], Any], dataset: WindowBatches, device: torch.device, size: int,
                   timed_calls: int) -> float:
    """Windows/s of ``forward`` on the split's first ``size`` windows (one untimed call first)."""
    batch = finish_batch(dataset[list(range(size))], dataset.store, device)
    forward(batch)
    _sync(device)
    start = time.perf_counter()
    for _ in range(timed_calls):
        forward(batch)
    _sync(device)
    return size * timed_calls / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
