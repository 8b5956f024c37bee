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
import logging
import time
from collections.abc import Callable, Mapping

import torch
from torch import nn

from tim_bench_registry import TimBenchError

from .losses import TIMLoss
from .tim import TIM, Mix

#: train_cfg.compile values: "auto" (compiled on CUDA, eager elsewhere), False (eager), True (= "default"), or a
#: torch.compile mode
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs")
log = logging.getLogger("tim_bench")


def compile_mode(value: object, device_type: str = "cpu", world_size: int = 1) -> str | None:
    """The torch.compile mode ``train_cfg.compile`` asks for on ``device_type``, None for eager; anything else
    fails clearly. "auto" compiles where it pays: a single CUDA process (a CPU step is bound by arithmetic, which
    compiling barely changes; the compiled step is single-process only). "reduce-overhead" (CUDA graphs) off CUDA
    warns and compiles as "default"."""
    if value == "auto":
        return "default" if device_type == "cuda" and world_size == 1 else None
    if value is False or value is None:
        return None
    if value is True:
        return "default"
    if value == "reduce-overhead" and device_type != "cuda":
        log.warning("warning: train_cfg.compile='reduce-overhead' asks for CUDA graphs, which need a CUDA device; on "
                    "%s the step compiles with mode 'default' instead (the same maths).", device_type)
        return "default"
    if isinstance(value, str) and value in COMPILE_MODES:
        return value
    raise TimBenchError(f"train_cfg.compile={value!r} is not valid: use 'auto' (compiled on one CUDA device), False "
                        f"(eager), True, or one of {', '.join(repr(m) for m in COMPILE_MODES)}.")


def compile_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean torch.compile could not compile (not a bug in the model)."""
    import torch._dynamo.exc as dynamo_exc
    import torch._inductor.exc as inductor_exc
    return (dynamo_exc.TorchDynamoException,) + tuple(
        e for e in (getattr(inductor_exc, "InductorError", None),) if e is not None)


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


class CompiledOrEager:
    """``eager`` compiled with static shapes; a compile that fails warns once, by name, and the run goes on
    eagerly (``mode`` is then None, which the run record reports). Batches of another window count than the first
    (the short last batch of an epoch) run eagerly rather than compile once more.

    Under "reduce-overhead" a call's outputs live in the CUDA graph's static buffers, which the next call
    overwrites: a caller consumes them (backward, accumulate, copy) before calling again, as the Trainer's step
    (loss into a running sum, the log line's loss read at once) and ``predict_split`` (logits added into the
    segment sums) do; tests/test_cuda_graph_safety.py checks it on the CPU."""

    what = "training"

    def __init__(self, eager: nn.Module, mode: str, backend: str) -> None:
        options = {"mode": mode} if backend == "inductor" else {}
        self.eager = eager
        self.mode: str | None = mode  # None once a compile failed
        self.windows: int | None = None  # the static batch: the first batch's window count
        self.compile_s: float | None = None  # how long the first (compiling) call took
        self.compiled = torch.compile(eager, dynamic=False, backend=backend, **options)

    def __call__(self, batch: Mapping) -> dict[str, torch.Tensor]:
        if self.mode is None or not self._static(batch):
            return self.eager(batch)
        if self.mode == "reduce-overhead":  # each call is a new iteration: the last step's outputs may be overwritten
            torch.compiler.cudagraph_mark_step_begin()
        try:
            return self.compiled(batch) if self.compile_s is not None else self._compile(batch)
        except compile_errors() as exc:
            cause = getattr(exc, "inner_exception", None) or exc.__cause__ or exc  # what the compiler itself raised
            first = (str(cause).strip().splitlines() or [""])[0]
            log.warning("warning: torch.compile (mode %r) failed, so %s goes on eagerly (same maths, slower): "
                        "%s: %s. Set train_cfg.compile=False to skip compiling.", self.mode, self.what,
                        type(cause).__name__, first[:240])
            self.mode = None
            return self.eager(batch)

    def _compile(self, batch: Mapping) -> dict[str, torch.Tensor]:
        """The first compiled call, which compiles: its time is logged (and is part of that epoch's time)."""
        start = time.perf_counter()
        out = self.compiled(batch)
        self.compile_s = time.perf_counter() - start
        log.info("torch.compile (mode %r): the %s graph compiled in %.1f s, counted in the time of the epoch that "
                 "first ran it", self.mode, self.what, self.compile_s)
        return out

    def _static(self, batch: Mapping) -> bool:
        """Whether ``batch`` has the compiled graph's window count (the first batch sets it)."""
        windows = len(batch["index"])
        self.windows = self.windows or windows
        return windows == self.windows


class CompiledTrainForward(CompiledOrEager):
    """``TrainForward`` compiled: the short last batch of an epoch steps eagerly (the same maths, no recompile)."""


class InferenceForward(nn.Module):
    """The model's logits for a batch of windows, every query slot computed (the padded layout, static shapes)."""

    def __init__(self, model: TIM) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Mapping) -> dict[str, torch.Tensor]:
        return self.model(batch["features"], batch["feature_times"], batch["query_times"]).logits


class CompiledInference(CompiledOrEager):
    """``InferenceForward`` compiled: a batch with fewer windows than the first is padded with empty windows
    (windows do not see each other and their slots are never read), so the last batch does not recompile."""

    what = "inference"

    def __call__(self, batch: Mapping) -> dict[str, torch.Tensor]:
        if self.mode is not None and self.windows is not None and len(batch["index"]) < self.windows:
            batch = pad_windows(batch, self.windows)
        return super().__call__(batch)


def pad_windows(batch: Mapping, windows: int) -> dict:
    """``batch``'s model inputs with zero windows appended up to ``windows`` (real windows keep their rows)."""
    extra = windows - len(batch["index"])
    grow = lambda t: torch.cat([t, t.new_zeros((extra, *t.shape[1:]))])  # noqa: E731
    out = {k: {s: grow(t) for s, t in batch[k].items()} for k in ("features", "feature_times", "query_times")}
    out["index"] = grow(batch["index"])
    return out


def inference_forward(model: TIM, mode: str | None, backend: str = "inductor") -> Callable[[Mapping], dict]:
    """Logits of a batch, per task [windows, query slots, classes]: eager, only the real query tokens computed
    (``query_index``); with ``mode``, compiled on the padded layout (queries padded by ``pad_queries``)."""
    if mode is None:
        return lambda batch: model(batch["features"], batch["feature_times"], batch["query_times"],
                                   query_index=batch["query_index"]).logits
    return CompiledInference(InferenceForward(model), mode, backend)


def probe_forward(model: TIM, mode: str | None) -> Callable[[Mapping], dict]:
    """The eager forward of the layout ``inference_forward(model, mode)`` runs, for a batch-size probe (compiling
    every candidate would cost more than the probe saves)."""
    return inference_forward(model, None) if mode is None else InferenceForward(model)


def train_forward(net: nn.Module, model: TIM, criterion: TIMLoss, amp_dtype: torch.dtype | None,
                  mode: str | None, backend: str = "inductor",
                  packed: bool = True) -> TrainForward | CompiledTrainForward:
    """``TrainForward``, compiled with static shapes when ``mode`` is set (a new batch size or query padding
    compiles once more; compiled steps keep the padded query layout, whose shapes do not change from batch to
    batch); ``backend`` other than inductor is for tests on CPU. Eager, ``packed`` computes only the real query
    tokens (fewer FLOPs: the CPU's choice); unpacked runs the batch-max padded layout with no index gathers
    (fewer kernel launches: CUDA's). Both are the same maths."""
    step = TrainForward(net, model, criterion, amp_dtype, packed=packed and mode is None)
    return step if mode is None else CompiledTrainForward(step, mode, backend)
