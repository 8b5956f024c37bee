"""The training forward (model + loss) as one module that ``torch.compile`` can take whole (``train_cfg.compile``).

Compiling fuses the step's many small kernels (casts, layer-norm and loss arithmetic), which is what bounds a
step on a GPU. Shapes stay static because the training batches are then padded to the split's query maximum
(``WindowBatches.pad_queries``): padded queries carry IGNORE_LABEL and see only the feature tokens and
themselves, so real outputs and the loss are unchanged. Mixup's coefficient (drawn by the loader) enters as a
tensor, so a new coefficient per step is not a new graph. Compiled code draws dropout and DRLoc pairs from its own generator:
the same distributions as the eager step, not the same numbers.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping

import torch
from torch import nn

from tim_bench_registry import TimBenchError

from .losses import TIMLoss
from .tim import TIM, Mix

#: train_cfg.compile values: False (eager), True (= "default"), or a torch.compile mode
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs")


def compile_mode(value: object) -> str | None:
    """The torch.compile mode ``train_cfg.compile`` asks for, None for eager; anything else fails clearly."""
    if value is False or value is None:
        return None
    if value is True:
        return "default"
    if isinstance(value, str) and value in COMPILE_MODES:
        return value
    raise TimBenchError(f"train_cfg.compile={value!r} is not valid: use False (eager), True, or one of "
                        f"{', '.join(repr(m) for m in COMPILE_MODES)}.")


class TrainForward(nn.Module):
    """Forward and loss of one training batch under autocast (when ``amp_dtype`` is set): the loss parts."""

    def __init__(self, net: nn.Module, model: TIM, criterion: TIMLoss, amp_dtype: torch.dtype | None,
                 packed: bool = True) -> None:
        super().__init__()
        self.net, self.criterion, self.amp_dtype, self.packed = net, criterion, amp_dtype, packed
        self.model = [model]  # not a submodule: ``net`` already holds (or is) it

    def forward(self, batch: Mapping) -> dict[str, torch.Tensor]:
        """The loss parts of ``batch``, mixed with the batch's own mixup draw (``batch["mix"]``) when it has one:
        the query slots the loader chose to compute (``query_index``) are the ones that draw needs."""
        model = self.model[0]
        mix = Mix(batch["mix"]["lam"], batch["mix"]["perm"]) if "mix" in batch else None
        device_type = next(iter(batch["feature_times"].values())).device.type
        ctx = torch.autocast(device_type, dtype=self.amp_dtype) if self.amp_dtype else contextlib.nullcontext()
        with ctx:
            out = self.net(batch["features"], batch["feature_times"], batch["query_times"], mix=mix,
                           query_index=batch.get("query_index") if self.packed else None)
            return self.criterion(out.logits, batch["labels"], out.feature_tokens, model.drloc_mlp,
                                  len(model.streams), mix)


def train_forward(net: nn.Module, model: TIM, criterion: TIMLoss, amp_dtype: torch.dtype | None,
                  mode: str | None, backend: str = "inductor") -> Callable[[Mapping], dict]:
    """``TrainForward``, compiled with static shapes when ``mode`` is set (a new batch size or query padding
    compiles once more; compiled steps keep the padded query layout, whose shapes do not change from batch to
    batch); ``backend`` other than inductor is for tests on CPU."""
    step = TrainForward(net, model, criterion, amp_dtype, packed=mode is None)
    if mode is None:
        return step
    options = {"mode": mode} if backend == "inductor" else {}
    compiled = torch.compile(step, dynamic=False, backend=backend, **options)
    cudagraphs = mode == "reduce-overhead"

    def run(batch: Mapping) -> dict[str, torch.Tensor]:
        if cudagraphs:  # each call is a new iteration: the previous step's outputs may be overwritten
            torch.compiler.cudagraph_mark_step_begin()
        return compiled(batch)
    return run
