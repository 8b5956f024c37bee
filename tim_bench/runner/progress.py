"""Iteration lines of the run log: loss, lr, data and step time, GPU memory and ETAs every N iterations.

The loss is read from the device only at those lines, so logging adds one host sync per ``interval`` steps.
"""
from __future__ import annotations

import datetime
import logging
import time

import torch


def _clock(seconds: float) -> str:
    """e.g. '0:03:07' (hours:minutes:seconds, rounded to the second)."""
    return str(datetime.timedelta(seconds=round(max(seconds, 0.0))))


class IterationLog:
    """Times the steps of a training run and logs one line every ``interval`` iterations (and at each epoch's
    last one), e.g. ``epoch 3/20 iter 50/120: loss 1.2345 lr 2.00e-04 data 0.004 s step 0.051 s mem 312 MB
    eta epoch 0:00:04 run 0:01:55``."""

    def __init__(self, logger: logging.Logger, interval: int, iters_per_epoch: int, max_epochs: int,
                 device: torch.device, enabled: bool = True) -> None:
        self.enabled = enabled  # False on the ranks other than 0 (one log per run)
        self.log, self.interval, self.device = logger, max(1, int(interval)), device
        self.iters, self.max_epochs = iters_per_epoch, max_epochs
        self.steps_timed, self.seconds_timed = 0, 0.0  # over the whole run, for the ETAs
        self._window_start = self._last = time.perf_counter()
        self._data = 0.0
        self._window_steps = 0

    def start_epoch(self) -> None:
        """Call before an epoch's first batch is fetched (validation time is not step time)."""
        self._window_start = self._last = time.perf_counter()
        self._data, self._window_steps = 0.0, 0

    def batch_ready(self) -> None:
        """Call when the loader has handed over a batch: the time since the last step is data time."""
        self._data += time.perf_counter() - self._last

    def step_done(self, epoch: int, step: int, loss: torch.Tensor, lr: float) -> float | None:
        """Call after each optimiser step; logs (and syncs with the device) only every ``interval`` steps and
        returns the loss it logged then (None on the other steps)."""
        self._window_steps += 1
        self._last = time.perf_counter()
        if not self.enabled or ((step + 1) % self.interval and step + 1 != self.iters):
            return None
        value = float(loss.detach())  # the one host sync: the window's steps are done once this returns
        now = time.perf_counter()
        elapsed = now - self._window_start
        self.steps_timed += self._window_steps
        self.seconds_timed += elapsed
        per_step = self.seconds_timed / max(self.steps_timed, 1)
        left_epoch = self.iters - (step + 1)
        left_run = left_epoch + (self.max_epochs - epoch) * self.iters
        mem = ""
        if self.device.type == "cuda":
            mem = f" mem {torch.cuda.max_memory_allocated(self.device) / 2**20:.0f} MB"
        self.log.info("epoch %d/%d iter %d/%d: loss %.4f lr %.2e data %.3f s step %.3f s%s eta epoch %s run %s",
                      epoch, self.max_epochs, step + 1, self.iters, value, lr, self._data / self._window_steps,
                      elapsed / self._window_steps, mem, _clock(left_epoch * per_step), _clock(left_run * per_step))
        self._window_start, self._data, self._window_steps = now, 0.0, 0
        self._last = now
        return value
