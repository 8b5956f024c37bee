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
from ..model.compiled import compile_mode, train_forward
from ..model.losses import TIMLoss
from ..model.tim import TIM
from .assemble import Experiment
from .checkpoint import load_checkpoint, save_checkpoint
from .distributed import DistInfo, barrier
from .inference import predict_split
from .load_from import load_initial_weights
from .progress import IterationLog
from .schedule import warmup_cosine

log = logging.getLogger("tim_bench")
LAST, BEST = "last.pth", "best.pth"


def stream_best_file(name: str) -> str:
    """The checkpoint of the best epoch by the original's ``name`` selection (its model_best_<name>)."""
    return f"best_{name}.pth"


@dataclass
class TrainResult:
    """What a finished (or early-stopped) training run reports.

    ``stream_best`` holds the original's per-stream selections, {name: {epoch, metric, value, metrics}}
    with validation metrics; ``procedure`` every training option that changes results.
    """

    epochs_trained: int
    best_epoch: int
    best_metrics: dict[str, float]
    main_metric: str
    history: list[dict[str, Any]] = field(default_factory=list)
    stream_best: dict[str, dict[str, Any]] = field(default_factory=dict)
    procedure: dict[str, Any] = field(default_factory=dict)


def autocast_settings(device: torch.device, amp: bool | str) -> tuple[bool, torch.dtype | None, bool]:
    """(use autocast, dtype, needs a grad scaler) for ``train_cfg.amp``: True is the original's mixed precision
    on CUDA (bf16 where supported, else fp16 with a scaler) and fp32 on CPU; "bf16" is bf16 autocast on any
    device, the CPU too (several times faster there on CPUs with bf16 instructions; it rounds activations)."""
    if not amp or (amp is True and device.type != "cuda"):
        return False, None, False
    if amp == "bf16" or torch.cuda.is_bf16_supported():
        return True, torch.bfloat16, False
    return True, torch.float16, True


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

    def procedure(self, warmup_iters: int, total_iters: int, early_stop_on: str | None) -> dict[str, Any]:
        """The result-changing training options of this run, for the run record."""
        tc, loss = self.tc, self.cfg.loss
        return {"sampler": tc.get("sampler", "uniform"),
                "lr_schedule": "cosine(T=all iterations, from iteration 0) x linear warm-up (original)",
                "lr": tc.lr, "min_lr": tc.min_lr, "warmup_iters": warmup_iters, "total_iters": total_iters,
                "early_stop_patience": tc.get("early_stop_patience"), "early_stop_on": early_stop_on,
                "drop_partial_labels": bool(loss.get("drop_partial_labels", True)),
                "eval_augmentation_copy": 0, "checkpoint_selection": "per stream, as the original's meters",
                "feature_dtype": self.exp.feature_dtype(self.device),
                "autocast": str(autocast_settings(self.device, tc.get("amp", True))[1] or "off").replace("torch.", ""),
                "compile": compile_mode(tc.get("compile", False)) or False}

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
                                f"{self.hash}); resume with the same config and overrides, or use a new --work-dir.")
        return state

    def fit(self, resume: bool = False) -> TrainResult:
        """Train to ``max_epochs`` (or an early stop), writing best.pth, last.pth and metrics.jsonl on rank 0."""
        exp, tc = self.exp, self.tc
        train = exp.load_split(exp.split_name("train"), train=True)
        val_name = exp.split_name("val")
        val = exp.load_split(val_name, train=False) if val_name else None
        workers = int(tc.get("num_workers", 0))
        pin = self.device.type == "cuda"
        mode = compile_mode(tc.get("compile", False))
        if mode is not None:
            if self.dist.world_size > 1:
                raise TimBenchError("train_cfg.compile is single-process only; set train_cfg.compile=False for a "
                                    "distributed run.")
        train_loader = exp.loader(train, tc.batch_size, True, self.dist, workers, pin)
        if mode is not None:  # before any batch: worker processes copy the dataset when an epoch starts
            log.info("train_cfg.compile=%r: training queries padded to %s per stream (static shapes)", mode,
                     train.dataset.pad_queries())
        val_loader = exp.loader(val, self.cfg.test_cfg.batch_size, False, self.dist, workers, pin) if val else None

        model = exp.build_model()
        load_initial_weights(model, self.cfg.get("load_from"))  # fine-tuning; --resume below overrides it
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
        warmup_iters, total_iters = int(tc.warmup_epochs * iters), tc.max_epochs * iters
        scheduler = warmup_cosine(optimizer, tc.min_lr, warmup_iters, total_iters)
        use_amp, amp_dtype, needs_scaler = autocast_settings(self.device, tc.get("amp", True))
        scaler = torch.amp.GradScaler("cuda", enabled=needs_scaler)
        forward = train_forward(net, model, criterion, amp_dtype if use_amp else None, mode)

        state = self._resume_state(resume)
        start_epoch, history = 0, []
        best = {"value": -math.inf, "epoch": 0, "metrics": {}}
        stream_best: dict[str, dict[str, Any]] = {}
        stale = 0
        if state is not None:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            if needs_scaler and state.get("scaler"):
                scaler.load_state_dict(state["scaler"])
            start_epoch, history, best, stale = state["epoch"], state["history"], state["best"], state["stale"]
            stream_best = state.get("stream_best", {})
            log.info("resumed from %s at epoch %d", self.work_dir / LAST, start_epoch)

        patience = tc.get("early_stop_patience")
        early_stop_on = self._early_stop_on(history)
        meter = IterationLog(log, tc.get("log_interval", 50), iters, tc.max_epochs, self.device, self.dist.is_main)
        epoch = start_epoch
        for epoch in range(start_epoch + 1, tc.max_epochs + 1):
            t0 = time.perf_counter()
            torch.manual_seed(exp.seed * 100_003 + epoch)  # dropout and DRLoc pairs (the loader draws mixup)
            train_loader.batch_sampler.set_epoch(epoch)
            train.dataset.set_epoch(epoch)
            net.train()
            total = torch.zeros((), device=self.device)
            bar = tqdm(train_loader, desc=f"epoch {epoch}/{tc.max_epochs}", disable=not self.progress, leave=False)
            meter.start_epoch()
            for step, batch in enumerate(bar):
                meter.batch_ready()
                batch = move_batch(batch, self.device)
                parts = forward(batch)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(parts["loss"]).backward()
                if tc.get("grad_clip"):
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                total += parts["loss"].detach()
                meter.step_done(epoch, step, parts["loss"], scheduler.get_last_lr()[0])  # syncs every log_interval
                if self.progress and step % 20 == 0:  # the only host sync, every 20 steps for the bar
                    bar.set_postfix(loss=f"{float(parts['loss'].detach()):.3f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
            train_loss = float(total) / max(iters, 1)
            if not math.isfinite(train_loss):
                raise TimBenchError(f"Training loss became {train_loss} in epoch {epoch}; lower train_cfg.lr or "
                                    f"check the features for extreme values.")
            entry: dict[str, Any] = {"epoch": epoch, "lr": scheduler.get_last_lr()[0], "train_loss": train_loss,
                                     "val": {}, "main_metric": self.main_metric}
            improved, improved_streams = False, []
            if val is not None and (epoch % tc.val_interval == 0 or epoch == tc.max_epochs):
                preds = predict_split(model, val_loader, val, exp.dataset_name, self.device, self.dist, self.progress)
                entry["val"] = self.metric(preds, val.annotations)
                value = entry["val"][self.main_metric]
                improved = value > best["value"]
                if improved:
                    best = {"value": value, "epoch": epoch, "metrics": entry["val"]}
                improved_streams = self._update_stream_bests(stream_best, entry["val"], epoch)
                early_stop_on = early_stop_on or self._early_stop_on(history + [entry])
                stale = 0 if (early_stop_on in improved_streams if early_stop_on else improved) else stale + 1
                entry["improved"] = improved_streams
            elif val is None:
                improved, best = True, {"value": -train_loss, "epoch": epoch, "metrics": {}}
            entry["time_s"] = time.perf_counter() - t0
            history.append(entry)
            log.info("epoch %d: loss %.4f lr %.2e %s (%.1f s)", epoch, train_loss, entry["lr"],
                     " ".join(f"{k}={v:.2f}" for k, v in entry["val"].items()), entry["time_s"])
            if self.dist.is_main:
                self._write_epoch(model, optimizer, scheduler, scaler, epoch, history, best, stale, improved,
                                  stream_best, improved_streams)
            barrier(self.dist)
            if patience is not None and stale >= patience:
                log.info("early stop: no better %s for %d validations", self._criterion_name(early_stop_on), stale)
                break
        return TrainResult(epochs_trained=history[-1]["epoch"] if history else epoch, best_epoch=best["epoch"],
                           best_metrics=best["metrics"], main_metric=self.main_metric, history=history,
                           stream_best=stream_best, procedure=self.procedure(warmup_iters, total_iters, early_stop_on))

    def _present(self, metrics: dict[str, float]) -> tuple[StreamBest, ...]:
        return present(self.selections, metrics)

    def _early_stop_on(self, history: list[dict[str, Any]]) -> str | None:
        """The selection whose stalls count for early stopping: the original counts epochs since its visual
        best; a run without one (e.g. audio only) uses its first selection, and None means the main metric."""
        validated = next((h["val"] for h in history if h.get("val")), None)
        if validated is None:
            return None
        names = [s.name for s in self._present(validated)]
        return "visual" if "visual" in names else (names[0] if names else None)

    def _criterion_name(self, early_stop_on: str | None) -> str:
        chosen = next((s for s in self.selections if s.name == early_stop_on), None)
        return f"{chosen.metric} ({chosen.name} best)" if chosen else self.main_metric

    def _update_stream_bests(self, stream_best: dict[str, dict[str, Any]], metrics: dict[str, float],
                             epoch: int) -> list[str]:
        """Raise each selection whose metric beat its best so far (strictly, as the original); their names."""
        improved = []
        for sel in self._present(metrics):
            current = stream_best.get(sel.name)
            if current is None or metrics[sel.metric] > current["value"]:
                stream_best[sel.name] = {"epoch": epoch, "metric": sel.metric, "value": metrics[sel.metric],
                                         "metrics": metrics}
                improved.append(sel.name)
        return improved

    def _write_epoch(self, model: TIM, optimizer, scheduler, scaler, epoch: int, history: list, best: dict,
                     stale: int, improved: bool, stream_best: dict, improved_streams: list[str]) -> None:
        weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        if improved:
            save_checkpoint(self.work_dir / BEST, {"model": weights, "epoch": epoch, "metrics": best["metrics"],
                                                   "config_hash": self.hash})
            by = f"{self.main_metric} {best['value']:.4f}" if best["metrics"] else "train loss (no val split)"
            log.info("saved best checkpoint %s: epoch %d, by %s", self.work_dir / BEST, epoch, by)
        for name in improved_streams:
            save_checkpoint(self.work_dir / stream_best_file(name), {
                "model": weights, "epoch": epoch, "metrics": stream_best[name]["metrics"], "selection": name,
                "config_hash": self.hash})
            log.info("saved %s best checkpoint %s: epoch %d, by %s %.4f", name, stream_best_file(name), epoch,
                     stream_best[name]["metric"], stream_best[name]["value"])
        if epoch % self.tc.get("checkpoint_interval", 1) == 0 or epoch == self.tc.max_epochs:
            save_checkpoint(self.work_dir / LAST, {
                "model": weights, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict() if scaler.is_enabled() else {}, "epoch": epoch, "history": history,
                "best": best, "stale": stale, "stream_best": stream_best, "config_hash": self.hash})
        write_atomic(self.work_dir / "metrics.jsonl",
                     lambda p: p.write_text("".join(json.dumps(h) + "\n" for h in history)))
