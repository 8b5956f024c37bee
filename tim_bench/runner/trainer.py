"""The training loop: AdamW, the original's cosine x warm-up, mixup, AMP on CUDA, clipping, per-stream best
checkpoints and early stopping as the original TIM keeps them, resume."""
from __future__ import annotations

import json
import logging
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from tim_bench_registry import TimBenchError

from ..config import config_hash
from ..data.dataset import move_batch
from ..evaluation.selection import StreamBest, present, stream_bests_of
from ..io import write_atomic
from ..model.compiled import compile_mode, inference_forward, probe_forward, train_forward
from ..model.losses import TIMLoss
from ..model.tim import TIM
from ..data.split import SplitData
from .experiment import Experiment
from ..safe_load import load_checkpoint
from .checkpoint import save_checkpoint, save_checkpoint_as
from ..distributed import DistInfo, all_reduce_sum, barrier, per_process_batch
from .workdir import resolved_config
from ..evaluation.batch_size import choose_batch_size
from ..evaluation.predict import predict_split
from .load_from import load_initial_weights
from .precision import precision_for
from .progress import IterationLog
from .rounding import round_epoch
from .schedule import warmup_cosine
from .tensorboard import RunBoard, open_board, summary_writer_class

log = logging.getLogger("tim_bench")
LAST, BEST = "last.pth", "best.pth"
#: the value the original's meters start every stream's best at (a best must be strictly greater)
ORIGINAL_INITIAL_BEST = 0.0


def stream_best_file(name: str) -> str:
    """The checkpoint of the best epoch by the original's ``name`` selection (its model_best_<name>)."""
    return f"best_{name}.pth"


@dataclass
class TrainResult:
    """What a finished (or early-stopped) training run reports.

    ``stream_best`` holds the original's per-stream selections, {name: {epoch, metric, value, metrics}}
    with validation metrics; ``procedure`` every training option that changes results; ``val_batch`` the
    validation's inference batch size and how it was chosen (``BatchChoice.describe``).
    """

    epochs_trained: int
    best_epoch: int
    best_metrics: dict[str, float]
    main_metric: str
    history: list[dict[str, Any]] = field(default_factory=list)
    stream_best: dict[str, dict[str, Any]] = field(default_factory=dict)
    procedure: dict[str, Any] = field(default_factory=dict)
    val_batch: dict[str, Any] = field(default_factory=dict)


def raise_stream_bests(selections: tuple[StreamBest, ...], stream_best: dict[str, dict[str, Any]],
                       metrics: dict[str, float], epoch: int) -> list[str]:
    """Raise each selection whose metric beat its best so far (strictly, as the original, whose bests start at 0:
    a stream that scores 0 has no best yet, even at the first validation); the names of those raised."""
    improved = []
    for sel in present(selections, metrics):
        current = stream_best.get(sel.name)
        if metrics[sel.metric] > (current["value"] if current is not None else ORIGINAL_INITIAL_BEST):
            stream_best[sel.name] = {"epoch": epoch, "metric": sel.metric, "value": metrics[sel.metric],
                                     "metrics": metrics}
            improved.append(sel.name)
    return improved


class Trainer:
    """Trains ``exp``'s model on its train split, validating every ``val_interval`` epochs."""

    def __init__(self, exp: Experiment, work_dir: Path, device: torch.device, dist: DistInfo = DistInfo(),
                 progress: bool = True) -> None:
        self.exp, self.cfg, self.work_dir, self.device, self.dist = exp, exp.cfg, work_dir, device, dist
        self.tc = exp.cfg.train_cfg
        self.progress = progress and dist.is_main and sys.stderr.isatty()  # no \r-updated bars in log files
        self.metric = exp.build_metric()
        self.main_metric = self.metric.main_metric
        self.selections = stream_bests_of(self.metric)
        self.hash = config_hash(exp.cfg)
        self.compiled_as: str | bool = False  # the torch.compile mode the training step ran with (False: eager)
        self.precision = precision_for(device, self.tc)
        if self.tc.get("tensorboard", False) and dist.is_main:
            summary_writer_class()  # a missing package is an error before any data is read

    def procedure(self, warmup_iters: int, total_iters: int, early_stop_on: str | None) -> dict[str, Any]:
        """The result-changing training options of this run, for the run record."""
        tc, loss = self.tc, self.cfg.loss
        return {"sampler": tc.get("sampler", "uniform"),
                "lr_schedule": "cosine(T=all iterations, from iteration 0) x linear warm-up (original)",
                "lr": tc.lr, "min_lr": tc.min_lr, "warmup_iters": warmup_iters, "total_iters": total_iters,
                "early_stop_patience": tc.get("early_stop_patience"), "early_stop_on": early_stop_on,
                "drop_partial_labels": bool(loss.get("drop_partial_labels", True)),
                "eval_augmentation_copy": 0, "checkpoint_selection": "per stream, as the original's meters",
                **self.precision.describe(),
                "encoder_init": self.cfg.model.get("encoder_init", "cloned"),
                "world_size": self.dist.world_size,
                "batch_size_per_process": per_process_batch(tc.batch_size, self.dist),
                "compile": self.compiled_as}

    def _resume_state(self, resume: bool) -> dict[str, Any] | None:
        path = self.work_dir / LAST
        if not resume:
            return None
        if not path.is_file():
            log.info("--resume: no %s yet, starting from scratch", path)
            return None
        state = load_checkpoint(path)
        if state.get("config_hash") != self.hash:
            raise TimBenchError(f"{path} was written by a different config (hash {state.get('config_hash')} vs "
                                f"{self.hash}); resume with the same config, overrides and number of processes, or use "
                                f"a new --work-dir.")
        return state

    def fit(self, resume: bool = False) -> TrainResult:
        """Train to ``max_epochs`` (or an early stop), writing best.pth, last.pth and metrics.jsonl on rank 0."""
        loop = self._build()
        state = self._restore(loop, resume)
        stopping = StoppingPolicy(self.tc.get("early_stop_patience"), self.selections, self.main_metric,
                                  state.history, state.stale)
        meter = IterationLog(log, self.tc.get("log_interval", 50), loop.iters, self.tc.max_epochs, self.device,
                             self.dist.is_main)
        board = open_board(self.work_dir, self.tc.get("tensorboard", False) and self.dist.is_main)
        try:
            for epoch in range(state.epoch + 1, self.tc.max_epochs + 1):
                t0 = time.perf_counter()
                train_loss = self._train_epoch(loop, epoch, meter, board)
                entry: dict[str, Any] = {"epoch": epoch, "lr": loop.scheduler.get_last_lr()[0],
                                         "train_loss": train_loss, "val": {}, "main_metric": self.main_metric}
                improved, improved_streams = self._validate(loop, epoch, entry, state, stopping)
                entry["time_s"] = time.perf_counter() - t0
                state.history.append(entry)
                state.epoch, state.stale = epoch, stopping.stale
                log.info("epoch %d: loss %.4f lr %.2e %s (%.1f s)", epoch, train_loss, entry["lr"],
                         " ".join(f"{k}={v:.2f}" for k, v in entry["val"].items()), entry["time_s"])
                board.epoch(entry)
                if self.dist.is_main:
                    self._write_epoch(loop, state, improved, improved_streams)
                barrier(self.dist)
                if stopping.should_stop:
                    log.info("early stop: no better %s for %d validations", stopping.criterion_name(), stopping.stale)
                    break
        finally:
            board.close()
        history = state.history
        return TrainResult(epochs_trained=history[-1]["epoch"] if history else state.epoch,
                           best_epoch=state.best["epoch"], best_metrics=state.best["metrics"],
                           main_metric=self.main_metric, history=history, stream_best=state.stream_best,
                           procedure=self._procedure_after(loop, stopping), val_batch=loop.val_batch)

    def _procedure_after(self, loop: _Loop, stopping: StoppingPolicy) -> dict[str, Any]:
        """The run's training procedure, with the compile mode it ended with (None after a failed compile)."""
        self.compiled_as = getattr(loop.forward, "mode", None) or False
        return self.procedure(loop.warmup_iters, loop.total_iters, stopping.on)

    def _build(self) -> _Loop:
        """Load the splits and build the loaders, model, loss, optimiser, schedule and training forward."""
        exp, tc = self.exp, self.tc
        train = exp.load_split(exp.require_split("train"), train=True)
        val_name = exp.split_name("val")
        val = exp.load_split(val_name, train=False) if val_name else None
        workers = int(tc.get("num_workers", 0))
        pin = self.device.type == "cuda"
        mode = compile_mode(tc.get("compile", "auto"), self.device.type, self.dist.world_size)
        if mode is not None and self.dist.world_size > 1:
            raise TimBenchError("train_cfg.compile is single-process only; set train_cfg.compile=False for a "
                                "distributed run.")
        if tc.batch_size % self.dist.world_size:
            log.warning("warning: train_cfg.batch_size=%d is the global batch and does not divide over %d processes: "
                        "each takes %d windows (a global batch of %d), as the original's int(batch_size / num_gpus).",
                        tc.batch_size, self.dist.world_size, per_process_batch(tc.batch_size, self.dist),
                        per_process_batch(tc.batch_size, self.dist) * self.dist.world_size)
        train_loader = exp.loader(train, tc.batch_size, True, self.dist, workers, pin)
        val_loader = exp.loader(val, self.cfg.test_cfg.batch_size, False, self.dist, workers, pin) if val else None
        if mode is not None:  # before any batch: worker processes copy the dataset when they start
            log.info("train_cfg.compile=%r: queries padded to the split maximum per stream (static shapes), "
                     "training %s%s; an epoch's short last batch steps eagerly, validation pads it", mode,
                     train.batches().pad_queries(), f", validation {val.batches().pad_queries()}" if val else "")

        model = exp.build_model()
        load_initial_weights(model, self.cfg.get("load_from"))  # fine-tuning; --resume overrides it
        model = model.to(self.device)
        loss_cfg = self.cfg.loss
        # with DRLoc off its MLP gets no gradient, which DDP must be told about
        net = DistributedDataParallel(model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                                      find_unused_parameters=not loss_cfg.lambda_drloc) \
            if self.dist.world_size > 1 else model
        criterion = TIMLoss(model.tasks, loss_cfg.label_smoothing, loss_cfg.stream_weights, loss_cfg.lambda_drloc,
                            loss_cfg.m_drloc, bool(loss_cfg.get("drop_partial_labels", True)))
        optimizer = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay, fused=True)
        iters = len(train_loader)
        if iters == 0:
            raise TimBenchError(f"Training would make no optimiser step: {_no_batches(tc.batch_size, self.dist)}")
        warmup_iters, total_iters = int(tc.warmup_epochs * iters), tc.max_epochs * iters
        scheduler = warmup_cosine(optimizer, tc.min_lr, warmup_iters, total_iters)
        scaler = torch.amp.GradScaler("cuda", enabled=self.precision.grad_scaler)
        forward = train_forward(net, model, criterion, self.precision.autocast, mode,
                                packed=self.device.type != "cuda")  # CUDA is launch-bound: no index gathers
        self.compiled_as = mode or False
        val_batch = {}
        if val is not None:  # before training holds its memory: the probe leaves it MEMORY_SHARE of the rest
            choice = choose_batch_size(self.cfg.test_cfg.get("probe_batch_size", "auto"), self.cfg.test_cfg.batch_size,
                                       probe_forward(model, mode), model, val, self.device,
                                       f"validation on split '{val.name}'", self.dist.world_size)
            if choice.batch_size != self.cfg.test_cfg.batch_size:
                val_loader = exp.loader(val, choice.batch_size, False, self.dist, workers, pin)
            val_batch = choice.describe()
        return _Loop(train, val, train_loader, val_loader, model, net, optimizer, scheduler, scaler, forward,
                     inference_forward(model, mode), iters, warmup_iters, total_iters, val_batch)

    def _restore(self, loop: _Loop, resume: bool) -> TrainingState:
        """A fresh ``TrainingState``, or with ``resume`` the one last.pth holds (weights, optimiser, schedule too)."""
        saved = self._resume_state(resume)
        if saved is None:
            return TrainingState()
        loop.model.load_state_dict(saved["model"])
        loop.optimizer.load_state_dict(saved["optimizer"])
        loop.scheduler.load_state_dict(saved["scheduler"])
        if loop.scaler.is_enabled() and saved.get("scaler"):
            loop.scaler.load_state_dict(saved["scaler"])
        log.info("resumed from %s at epoch %d", self.work_dir / LAST, saved["epoch"])
        return TrainingState(saved["epoch"], saved["history"], saved["best"], saved.get("stream_best", {}),
                             saved["stale"])

    def _train_epoch(self, loop: _Loop, epoch: int, meter: IterationLog, board: RunBoard) -> float:
        """One pass over the train split; the mean training loss (an error when it is not finite)."""
        exp, tc = self.exp, self.tc
        torch.manual_seed(exp.seed * 100_003 + epoch)  # dropout and DRLoc pairs (the loader draws mixup)
        loop.train_loader.batch_sampler.set_epoch(epoch)  # its batches carry the epoch to the dataset (EpochBatch)
        loop.net.train()
        total = torch.zeros((), device=self.device)
        bar = tqdm(loop.train_loader, desc=f"epoch {epoch}/{tc.max_epochs}", disable=not self.progress, leave=False)
        meter.start_epoch()
        steps = 0
        params = list(loop.model.parameters())  # walked once, not every step (clipping)
        for step, batch in enumerate(bar):
            meter.batch_ready()
            batch = move_batch(batch, self.device)
            parts = loop.forward(batch)
            loop.optimizer.zero_grad(set_to_none=True)
            loop.scaler.scale(parts["loss"]).backward()
            if tc.get("grad_clip"):
                loop.scaler.unscale_(loop.optimizer)
                torch.nn.utils.clip_grad_norm_(params, tc.grad_clip)
            loop.scaler.step(loop.optimizer)
            loop.scaler.update()
            loop.scheduler.step()
            steps += 1
            total += parts["loss"].detach()
            lr = loop.scheduler.get_last_lr()[0]
            logged = meter.step_done(epoch, step, parts["loss"], lr)  # syncs every log_interval
            if logged is not None:
                board.iteration((epoch - 1) * loop.iters + step + 1, logged, lr)
            if self.progress and (logged is not None or step % 20 == 0):  # the bar's loss: a sync every 20 steps
                shown = logged if logged is not None else float(parts["loss"].detach())
                bar.set_postfix(loss=f"{shown:.3f}", lr=f"{lr:.2e}")
        if steps == 0:  # an untrained model must never be saved and scored as if it were trained
            raise TimBenchError(f"Epoch {epoch} made no optimiser step: {_no_batches(tc.batch_size, self.dist)}")
        train_loss = float(all_reduce_sum(total, self.dist)) / (steps * self.dist.world_size)
        if not math.isfinite(train_loss):
            raise TimBenchError(f"Training loss became {train_loss} in epoch {epoch}; lower train_cfg.lr or "
                                f"check the features for extreme values.")
        return train_loss

    def _validate(self, loop: _Loop, epoch: int, entry: dict[str, Any], state: TrainingState,
                  stopping: StoppingPolicy) -> tuple[bool, list[str]]:
        """Score the val split when this epoch validates, raising the bests; (best.pth improved, streams improved).

        Without a val split every epoch is the best (by train loss), as a run with nothing to select on."""
        tc = self.tc
        if loop.val is None:
            state.best = {"value": -entry["train_loss"], "epoch": epoch, "metrics": {}}
            return True, []
        if epoch % tc.val_interval and epoch != tc.max_epochs:
            return False, []
        preds = predict_split(loop.model, loop.val_loader, loop.val, self.exp.dataset_name, self.device, self.dist,
                              self.progress, loop.infer)
        entry["val"] = self.metric(preds, loop.val.annotations)
        value = entry["val"][self.main_metric]
        improved = value > state.best["value"]
        if improved:
            state.best = {"value": value, "epoch": epoch, "metrics": entry["val"]}
        improved_streams = raise_stream_bests(self.selections, state.stream_best, entry["val"], epoch)
        stopping.validated(state.history + [entry], improved, improved_streams)
        entry["improved"] = improved_streams
        return improved, improved_streams

    def _write_epoch(self, loop: _Loop, state: TrainingState, improved: bool, improved_streams: list[str]) -> None:
        """Rank 0: best.pth and the per-stream bests when they improved, last.pth (every checkpoint_interval),
        metrics.jsonl (rounded, see ``rounding``)."""
        epoch, best, stream_best = state.epoch, state.best, state.stream_best
        weights = {k: v.detach().cpu() for k, v in loop.model.state_dict().items()}
        # every selection this epoch won shares one file (the same weights, the same val metrics)
        names = ([BEST] if improved else []) + [stream_best_file(name) for name in improved_streams]
        if names:
            metrics = best["metrics"] if improved else stream_best[improved_streams[0]]["metrics"]
            save_checkpoint_as([self.work_dir / n for n in names], {
                "model": weights, "epoch": epoch, "metrics": metrics, "config_hash": self.hash,
                "config": resolved_config(self.exp.cfg)})
        if improved:
            by = f"{self.main_metric} {best['value']:.4f}" if best["metrics"] else "train loss (no val split)"
            log.info("saved best checkpoint %s: epoch %d, by %s", self.work_dir / BEST, epoch, by)
        for name in improved_streams:
            log.info("saved %s best checkpoint %s: epoch %d, by %s %.4f%s", name, stream_best_file(name), epoch,
                     stream_best[name]["metric"], stream_best[name]["value"],
                     f" (the same file as {names[0]})" if names[0] != stream_best_file(name) else "")
        if epoch % self.tc.get("checkpoint_interval", 1) == 0 or epoch == self.tc.max_epochs:
            save_checkpoint(self.work_dir / LAST, {
                "model": weights, "optimizer": loop.optimizer.state_dict(), "scheduler": loop.scheduler.state_dict(),
                "scaler": loop.scaler.state_dict() if loop.scaler.is_enabled() else {}, "epoch": epoch,
                "history": state.history, "best": best, "stale": state.stale, "stream_best": stream_best,
                "config_hash": self.hash})
        write_atomic(self.work_dir / "metrics.jsonl",
                     lambda p: p.write_text("".join(json.dumps(round_epoch(h)) + "\n" for h in state.history)))


def _no_batches(batch_size: int, dist: DistInfo) -> str:
    """Why an epoch has no batch, and the fix (the end of a one-sentence error)."""
    return (f"the train split gives this process no batch (train_cfg.batch_size={batch_size} is the global batch, "
            f"{per_process_batch(batch_size, dist)} window(s) per process over {dist.world_size} process(es)); use "
            f"fewer processes or more training windows.")


@dataclass
class _Loop:
    """What one training run's epochs work with, built once by ``Trainer._build``."""

    train: SplitData
    val: SplitData | None
    train_loader: Any
    val_loader: Any
    model: TIM
    net: torch.nn.Module  # the model, or its DDP wrapper
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler
    forward: Any
    infer: Any  # a batch's logits for validation (compiled with the training forward)
    iters: int
    warmup_iters: int
    total_iters: int
    val_batch: dict[str, Any]  # the validation's inference batch size and how it was chosen


@dataclass
class TrainingState:
    """Where a run stands after ``epoch`` (what last.pth keeps): the history, the best by the main metric,
    the per-stream bests and the early-stop count."""

    epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] = field(default_factory=lambda: {"value": -math.inf, "epoch": 0, "metrics": {}})
    stream_best: dict[str, dict[str, Any]] = field(default_factory=dict)
    stale: int = 0


class StoppingPolicy:
    """Early stopping as the original: stop after ``patience`` validations without a better best of the criterion
    selection (the visual one, or a run's first selection, or the main metric when it has none); never when
    ``patience`` is None."""

    def __init__(self, patience: int | None, selections: tuple[StreamBest, ...], main_metric: str,
                 history: list[dict[str, Any]], stale: int = 0) -> None:
        self.patience, self.selections, self.main_metric, self.stale = patience, selections, main_metric, stale
        self.on = self._criterion(history)  # the selection whose stalls count (None: the main metric)

    def _criterion(self, history: list[dict[str, Any]]) -> str | None:
        validated = next((h["val"] for h in history if h.get("val")), None)
        if validated is None:
            return None
        names = [s.name for s in present(self.selections, validated)]
        return "visual" if "visual" in names else (names[0] if names else None)

    def validated(self, history: list[dict[str, Any]], improved: bool, improved_streams: list[str]) -> None:
        """Count one validation (``history`` ends with it): reset on a better criterion best, else one more stall."""
        self.on = self.on or self._criterion(history)
        self.stale = 0 if (self.on in improved_streams if self.on else improved) else self.stale + 1

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.stale >= self.patience

    def criterion_name(self) -> str:
        """e.g. 'top1_visual (visual best)', for the early-stop log line."""
        chosen = next((s for s in self.selections if s.name == self.on), None)
        return f"{chosen.metric} ({chosen.name} best)" if chosen else self.main_metric
