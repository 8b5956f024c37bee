"""The training loop: AdamW, warm-up + cosine, mixup, AMP on CUDA, clipping, early stopping, resume."""
from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from tim_bench_registry import TimBenchError

from ..config import config_hash
from ..data.dataset import move_batch
from ..io import write_atomic
from ..model.losses import TIMLoss
from ..model.tim import TIM, Mix
from .assemble import Experiment
from .checkpoint import load_checkpoint, save_checkpoint
from .distributed import DistInfo, barrier
from .inference import predict_split
from .schedule import warmup_cosine

log = logging.getLogger("tim_bench")
LAST, BEST = "last.pth", "best.pth"


@dataclass
class TrainResult:
    """What a finished (or early-stopped) training run reports."""

    epochs_trained: int
    best_epoch: int
    best_metrics: dict[str, float]
    main_metric: str
    history: list[dict[str, Any]] = field(default_factory=list)


def autocast_settings(device: torch.device, enabled: bool) -> tuple[bool, torch.dtype | None, bool]:
    """(use autocast, dtype, needs a grad scaler): bf16 where the GPU supports it, else fp16; CPU stays fp32."""
    if not enabled or device.type != "cuda":
        return False, None, False
    if torch.cuda.is_bf16_supported():
        return True, torch.bfloat16, False
    return True, torch.float16, True


class Trainer:
    """Trains ``exp``'s model on its train split, validating every ``val_interval`` epochs."""

    def __init__(self, exp: Experiment, work_dir: Path, device: torch.device, dist: DistInfo = DistInfo(),
                 progress: bool = True) -> None:
        self.exp, self.cfg, self.work_dir, self.device, self.dist = exp, exp.cfg, work_dir, device, dist
        self.tc = exp.cfg.train_cfg
        self.progress = progress and dist.is_main
        self.metric = exp.build_metric()
        self.main_metric = self.metric.main_metric
        self.hash = config_hash(exp.cfg)

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
        train_loader = exp.loader(train, tc.batch_size, True, self.dist, workers, pin)
        val_loader = exp.loader(val, self.cfg.test_cfg.batch_size, False, self.dist, workers, pin) if val else None

        model = exp.build_model().to(self.device)
        loss_cfg = self.cfg.loss
        # with DRLoc off its MLP gets no gradient, which DDP must be told about
        net = DistributedDataParallel(model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                                      find_unused_parameters=not loss_cfg.lambda_drloc) \
            if self.dist.world_size > 1 else model
        criterion = TIMLoss(model.tasks, loss_cfg.label_smoothing, loss_cfg.stream_weights, loss_cfg.lambda_drloc,
                            loss_cfg.m_drloc)
        optimizer = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay, fused=True)
        iters = len(train_loader)
        scheduler = warmup_cosine(optimizer, tc.lr, tc.min_lr, int(tc.warmup_epochs * iters), tc.max_epochs * iters)
        use_amp, amp_dtype, needs_scaler = autocast_settings(self.device, tc.get("amp", True))
        scaler = torch.amp.GradScaler("cuda", enabled=needs_scaler)

        state = self._resume_state(resume)
        start_epoch, history = 0, []
        best = {"value": -math.inf, "epoch": 0, "metrics": {}}
        stale = 0
        if state is not None:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            if needs_scaler and state.get("scaler"):
                scaler.load_state_dict(state["scaler"])
            start_epoch, history, best, stale = state["epoch"], state["history"], state["best"], state["stale"]
            log.info("resumed from %s at epoch %d", self.work_dir / LAST, start_epoch)

        alpha = float(loss_cfg.mixup_alpha)
        patience = tc.get("early_stop_patience")
        epoch = start_epoch
        for epoch in range(start_epoch + 1, tc.max_epochs + 1):
            t0 = time.perf_counter()
            torch.manual_seed(exp.seed * 100_003 + epoch)  # dropout, DRLoc pairs, mixup permutations
            mix_rng = np.random.default_rng([exp.seed, epoch, 7])
            train_loader.batch_sampler.set_epoch(epoch)
            train.dataset.set_epoch(epoch)
            net.train()
            total = torch.zeros((), device=self.device)
            bar = tqdm(train_loader, desc=f"epoch {epoch}/{tc.max_epochs}", disable=not self.progress, leave=False)
            for step, batch in enumerate(bar):
                batch = move_batch(batch, self.device)
                mix = None
                if alpha > 0:
                    b = batch["index"].shape[0]
                    mix = Mix(float(mix_rng.beta(alpha, alpha)), torch.randperm(b, device=self.device))
                ctx = torch.autocast("cuda", dtype=amp_dtype) if use_amp else contextlib.nullcontext()
                with ctx:
                    out = net(batch["features"], batch["feature_times"], batch["query_times"], mix=mix)
                    parts = criterion(out.logits, batch["labels"], out.feature_tokens, model.drloc_mlp,
                                      len(model.streams), mix)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(parts["loss"]).backward()
                if tc.get("grad_clip"):
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                total += parts["loss"].detach()
                if self.progress and step % 20 == 0:  # the only host sync, every 20 steps for the bar
                    bar.set_postfix(loss=f"{float(parts['loss'].detach()):.3f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
            train_loss = float(total) / max(iters, 1)
            if not math.isfinite(train_loss):
                raise TimBenchError(f"Training loss became {train_loss} in epoch {epoch}; lower train_cfg.lr or "
                                    f"check the features for extreme values.")
            entry: dict[str, Any] = {"epoch": epoch, "lr": scheduler.get_last_lr()[0], "train_loss": train_loss,
                                     "val": {}, "main_metric": self.main_metric}
            improved = False
            if val is not None and (epoch % tc.val_interval == 0 or epoch == tc.max_epochs):
                preds = predict_split(model, val_loader, val, exp.dataset_name, self.device, self.dist, self.progress)
                entry["val"] = self.metric(preds, val.annotations)
                value = entry["val"][self.main_metric]
                improved = value > best["value"]
                if improved:
                    best = {"value": value, "epoch": epoch, "metrics": entry["val"]}
                    stale = 0
                else:
                    stale += 1
            elif val is None:
                improved, best = True, {"value": -train_loss, "epoch": epoch, "metrics": {}}
            entry["time_s"] = time.perf_counter() - t0
            history.append(entry)
            log.info("epoch %d: loss %.4f lr %.2e %s (%.1f s)", epoch, train_loss, entry["lr"],
                     " ".join(f"{k}={v:.2f}" for k, v in entry["val"].items()), entry["time_s"])
            if self.dist.is_main:
                self._write_epoch(model, optimizer, scheduler, scaler, epoch, history, best, stale, improved)
            barrier(self.dist)
            if patience is not None and stale >= patience:
                log.info("early stop: no better %s for %d epochs", self.main_metric, stale)
                break
        return TrainResult(epochs_trained=history[-1]["epoch"] if history else epoch, best_epoch=best["epoch"],
                           best_metrics=best["metrics"], main_metric=self.main_metric, history=history)

    def _write_epoch(self, model: TIM, optimizer, scheduler, scaler, epoch: int, history: list, best: dict,
                     stale: int, improved: bool) -> None:
        weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        if improved:
            save_checkpoint(self.work_dir / BEST, {"model": weights, "epoch": epoch, "metrics": best["metrics"],
                                                   "config_hash": self.hash})
        if epoch % self.tc.get("checkpoint_interval", 1) == 0 or epoch == self.tc.max_epochs:
            save_checkpoint(self.work_dir / LAST, {
                "model": weights, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict() if scaler.is_enabled() else {}, "epoch": epoch, "history": history,
                "best": best, "stale": stale, "config_hash": self.hash})
        write_atomic(self.work_dir / "metrics.jsonl",
                     lambda p: p.write_text("".join(json.dumps(h) + "\n" for h in history)))
