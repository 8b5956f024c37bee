"""Training throughput at EPIC scale, in one run on one machine: is the data path keeping up with the model?

Writes synthetic EPIC-100 + EPIC-Sounds features for the first K real validation videos (real durations and
segments from --annotations), then measures on the same batches:

  (a) the default eager model step alone (batches on the device; fp16 autocast + GradScaler on CUDA, fp32 on
      the CPU; packed queries on the CPU, batch-max padded on CUDA), and the other layout,
  (b) the loader alone (one epoch of `Experiment.loader`: index arithmetic, gather, hand-over),
  (c) a full training epoch through the real Trainer (second epoch timed; no validation),
  (o) the original's formulation of the step: dense attention with a [B*heads, S, S] boolean mask rebuilt
      every step, queries padded to the split maximum, fp16 autocast + GradScaler on CUDA,
  (i) inference windows/s at batch 256 (fp32, as the original validates),
  with --compile MODE[,MODE]: per MODE (a') the step with train_cfg.compile=MODE (queries padded to the split
      maximum, forward+loss compiled), interleaved with (a) again, its first steps' losses against the eager
      step's (dropout and DRLoc off: the same maths; reduce-overhead's also against default's), (i') compiled
      inference at batch 256 and, for the first MODE, at the batch size the default run's probe chooses
      (test_cfg.probe_batch_size), and (c') a Trainer epoch (on one CUDA device, train_cfg.compile="auto" is
      MODE=default: the first MODE's epoch is the default run's, first compile in the first epoch, second timed),

and prints end-to-end windows/s as a fraction of (a) and (a) over (o).

    python bench/throughput.py --dims small --videos 8             # CPU (2 cores: small dims)
    python bench/throughput.py --dims real --videos 24 --out r.json # GPU: d_model 512, 1024-d + 2304-d, batch 64
"""
from __future__ import annotations

import argparse
import copy
import functools
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tim_bench.config import load_config
from tim_bench.model import layers
from tim_bench.evaluation.batch_size import choose_batch_size
from tim_bench.model.compiled import compile_mode, inference_forward, probe_forward, train_forward
from tim_bench.model.losses import TIMLoss
from tim_bench.runner.experiment import Experiment
from tim_bench.distributed import DistInfo
from tim_bench.runner import trainer as trainer_module
from tim_bench.evaluation.predict import predict_split
from tim_bench.runner.trainer import Trainer
from tim_bench_plugins.ave.synthetic import make_ave
from tim_bench_plugins.epic.synthetic import make_epic

import original_tim  # bench/original_tim.py: the original TIM's own code, from a checkout (--original)

REPO = Path(__file__).resolve().parents[1]
#: per recipe: its config, its synthetic data, and its dims (real: the recipe's own; small: a CPU's; tiny: a test's)
RECIPES = {
    "epic_av": dict(config="epic_av.py", dims={
        "real": dict(visual=1024, audio=2304, d_model=512, layers=4, heads=8, batch=64),
        "small": dict(visual=64, audio=96, d_model=64, layers=2, heads=4, batch=16),
        "tiny": dict(visual=8, audio=8, d_model=16, layers=1, heads=2, batch=8)}),
    "ave_vgg": dict(config="ave_vgg.py", dims={
        "real": dict(visual=512, audio=128, d_model=256, layers=4, heads=8, batch=64),
        "small": dict(visual=64, audio=32, d_model=64, layers=2, heads=4, batch=16),
        "tiny": dict(visual=8, audio=8, d_model=16, layers=1, heads=2, batch=8)}),
}
FLOP_PER_WINDOW = 16.9e9  # forward, 230 tokens (original_performance.md); a training step is ~3x
PEAK_BF16 = {"H100": 989e12, "H200": 989e12}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class OriginalAttention(layers.SelfAttention):
    """The original's attention: a [B*heads, S, S] boolean mask built every call, explicit softmax (no fused kernel)."""

    def forward(self, x: torch.Tensor, num_feature_tokens: int) -> torch.Tensor:
        b, s, w = x.shape
        h, d = self.nhead, w // self.nhead
        allowed = layers.query_mask(s, num_feature_tokens, x.device)
        mask = (~allowed).unsqueeze(0).repeat(b * h, 1, 1)  # rebuilt per step, B*heads copies, as the original
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).view(b, s, 3, h, d).permute(2, 0, 3, 1, 4) \
            .reshape(3, b * h, s, d).unbind(0)
        scores = torch.bmm(q * d ** -0.5, k.transpose(1, 2)).masked_fill(mask, float("-inf"))
        probs = F.dropout(torch.softmax(scores, dim=-1), self.dropout, self.training)
        out = torch.bmm(probs, v).view(b, h, s, d).transpose(1, 2).reshape(b, s, w)
        return self.out_proj(out)


def original_model(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` whose attention layers use the original's masked formulation (same weights)."""
    clone = copy.deepcopy(model)
    for layer in clone.encoder.layers:
        layer.self_attn.__class__ = OriginalAttention
    return clone


def unpacked(batch: dict) -> dict:
    """The batch without ``query_index``: the model computes every padded query slot (the original's way)."""
    return {k: v for k, v in batch.items() if k != "query_index"}


def pad_to(batch: dict, split_max: dict[str, int]) -> dict:
    """Queries padded to the split maximum (the original's padding) instead of the batch's own, all computed."""
    out = unpacked(batch)
    out["query_times"] = {s: F.pad(t, (0, 0, 0, split_max[s] - t.shape[1])) for s, t in batch["query_times"].items()}
    streams = {k: k.split("_")[0] for k in batch["labels"]}
    out["labels"] = {k: F.pad(y, (0, split_max[streams[k]] - y.shape[1]), value=-1) for k, y in batch["labels"].items()}
    return out


def step_fn(model, criterion, optimizer, device, dtype: torch.dtype | None, scaler, mode: str | None = None,
            backend: str = "inductor", packed: bool = True):
    """One training step with the Trainer's maths (mixup, TIMLoss, clipping, fused AdamW), its forward+loss
    compiled with torch.compile ``mode`` when set (as train_cfg.compile); the step returns its loss, detached (on
    the device: reading it is the caller's choice, before the next step as CUDA graphs reuse its memory)."""
    forward = train_forward(model, model, criterion, dtype, mode, backend, packed=packed)

    def step(batch: dict) -> torch.Tensor:
        loss = forward(batch)["loss"]  # mixed with the batch's own mixup draw, as the Trainer does
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        return loss.detach()
    return step


def time_steps(step, batches: list[dict], device: torch.device, warmup: int = 3) -> float:
    """Median seconds per step over ``batches`` (after ``warmup`` untimed steps)."""
    for b in batches[:warmup]:
        step(b)
    times = []
    for b in batches[warmup:]:
        sync(device)
        t0 = time.perf_counter()
        step(b)
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def phase(name: str, t0: float) -> float:
    """Print how long the phase that began at ``t0`` took; return now."""
    now = time.perf_counter()
    print(f"[{name}: {now - t0:.1f} s]", flush=True)
    return now


def time_interleaved(runs: dict[str, tuple], device: torch.device, warmup: int) -> dict[str, float]:
    """Median seconds per step of each ``name: (step, batches)``, the formulations taking turns batch by batch."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(len(next(iter(runs.values()))[1])):
        for name, (step, batches) in runs.items():
            sync(device)
            t0 = time.perf_counter()
            step(batches[i])
            sync(device)
            if i >= warmup:
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def profile_steps(step, batches: list[dict], device: torch.device, rows: int = 22) -> None:
    """Print where a step's time goes: summed kernel time against wall time (launch-bound when far below), then
    the ops with the most device time and the most host time."""
    from torch.profiler import ProfilerActivity, profile
    for b in batches[:3]:
        step(b)
    sync(device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    t0 = time.perf_counter()
    with profile(activities=activities) as prof:
        for b in batches[3:]:
            step(b)
        sync(device)
    n = len(batches) - 3
    wall_ms = (time.perf_counter() - t0) / n * 1e3
    events = prof.key_averages()
    if device.type == "cuda":
        kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]  # not op rows too
        kernel_ms = sum(e.self_device_time_total for e in kernels) / n / 1e3
        print(f"profile: {wall_ms:.1f} ms/step wall (profiled), kernels sum to {kernel_ms:.1f} ms/step "
              f"({kernel_ms / wall_ms:.0%} of wall)")
        print(events.table(sort_by="self_cuda_time_total", row_limit=rows))
    print(events.table(sort_by="self_cpu_time_total", row_limit=rows))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", choices=RECIPES, default="epic_av")
    ap.add_argument("--dims", choices=("real", "small", "tiny"), default="real" if torch.cuda.is_available() else "small")
    ap.add_argument("--videos", type=int, default=8,
                    help="epic_av: real validation videos to carve into train and val; ave_vgg: 10x as many synthetic")
    ap.add_argument("--original", metavar="CHECKOUT",
                    help="a JacobChalk/TIM checkout (or its recognition/ folder): also time the original's own model "
                         "and training step on the same batches (bench/original_tim.py says what runs as is)")
    ap.add_argument("--annotations", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--batch", type=int, help="training batch (default: 64 real, 16 small)")
    ap.add_argument("--steps", type=int, default=20, help="timed model steps per formulation")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps before each formulation's timed ones")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--feature-store", default="auto", choices=("auto", "gpu", "host"))
    ap.add_argument("--compile", default="", metavar="MODE[,MODE]",
                    help="also time the step with train_cfg.compile=MODE (True = default, reduce-overhead, "
                         "max-autotune-no-cudagraphs), and a Trainer epoch with the first MODE")
    ap.add_argument("--backend", default="inductor",
                    help="torch.compile backend of the --compile figures (aot_eager: a quick CPU check of the script)")
    ap.add_argument("--data", help="reuse synthetic data here (written if missing)")
    ap.add_argument("--step-only", action="store_true", help="time only the model steps (a) and (o)")
    ap.add_argument("--threads", type=int, help="CPU threads for torch (1 is steadier on a shared machine)")
    ap.add_argument("--out", help="write the figures as JSON here")
    ap.add_argument("--profile", action="store_true",
                    help="after (a), profile our step with torch.profiler: the ops with the most device and host time")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    if args.threads:
        torch.set_num_threads(args.threads)
    recipe = RECIPES[args.recipe]
    dims = recipe["dims"][args.dims]
    batch = args.batch or dims["batch"]
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    amp = torch.float16 if device.type == "cuda" else None  # the default: fp16 autocast + GradScaler on CUDA
    scaled = device.type == "cuda"
    results: dict = {"device": torch.cuda.get_device_name() if device.type == "cuda" else f"cpu x{torch.get_num_threads()}",
                     "recipe": args.recipe, "dims": args.dims, "batch": batch}
    tmp = tempfile.TemporaryDirectory()
    root = Path(args.data or tmp.name) / args.recipe
    t0 = time.perf_counter()
    if args.recipe == "epic_av" and not (root / "features").is_dir():
        make_epic(root, annotations=args.annotations, max_videos=args.videos, visual_dim=dims["visual"],
                  audio_dim=dims["audio"])
    elif args.recipe == "ave_vgg" and not (root / "Annotations.txt").is_file():
        make_ave(root, videos=max(10 * args.videos, 40), visual_dim=dims["visual"], audio_dim=dims["audio"])
    print(f"synthetic {args.recipe} ({args.videos} videos) ready in {time.perf_counter() - t0:.1f} s")
    dim_keys = {"features.visual.dim": dims["visual"], "features.audio.dim": dims["audio"]} \
        if args.recipe == "epic_av" else {}  # AVE's feature files carry their dims
    overrides = {"data_root": str(root), **dim_keys,
                 "model.d_model": dims["d_model"], "model.num_layers": dims["layers"], "model.nhead": dims["heads"],
                 "train_cfg.batch_size": batch, "train_cfg.max_epochs": 2, "train_cfg.num_workers": args.workers,
                 "train_cfg.feature_store": args.feature_store, "splits.val": None, "splits.test": None,
                 "train_cfg.compile": False}  # (c) is the eager Trainer; --compile adds (c') with compile on
    cfg = load_config(REPO / "configs" / recipe["config"], overrides)
    exp = Experiment(cfg, cache_dir=Path(tmp.name) / "cache")
    train = exp.load_split("train", train=True)
    t0 = time.perf_counter()
    loader = exp.loader(train, batch, True, DistInfo(), args.workers, device.type == "cuda")
    results["store_build_s"] = time.perf_counter() - t0
    windows = len(train.windows)
    results["train_windows"] = windows

    # (b) the loader alone, one epoch
    loader.batch_sampler.set_epoch(1)
    train.dataset.set_epoch(1)
    sync(device)
    t0 = time.perf_counter()
    batches, tokens, packed = [], [], []
    tasks = train.queries.tasks
    for b in loader:
        feature_tokens = sum(t.shape[1] for t in b["feature_times"].values())
        tokens.append(feature_tokens + sum(b["labels"][k].shape[1] for k in b["labels"]))
        packed.append(feature_tokens + sum(b["query_index"][t.stream].shape[0] for t in tasks) / b["index"].shape[0])
        if len(batches) < args.steps + args.warmup:
            batches.append(b)
    sync(device)
    results["loader_windows_per_s"] = windows / (time.perf_counter() - t0)
    results["mean_tokens_per_window"] = float(np.mean(tokens))
    results["mean_computed_tokens_per_window"] = float(np.mean(packed))  # packed: real (and mixup-partner) slots
    split_max = {s: int(np.bincount(np.repeat(np.arange(windows), np.diff(train.windows.query_ptr))[
        train.queries.stream[train.windows.query_row] == i], minlength=windows).max()) for i, s in enumerate(("visual", "audio"))}
    results["split_max_queries"] = split_max
    t0 = phase("loader epoch", t0)

    # (a) the model step alone, on those batches
    torch.manual_seed(0)
    model = exp.build_model().to(device).train()
    loss_cfg = cfg.loss
    criterion = TIMLoss(model.tasks, loss_cfg.label_smoothing, dict(loss_cfg.stream_weights), loss_cfg.lambda_drloc,
                        loss_cfg.m_drloc)

    def fresh(m: torch.nn.Module, dtype, scaled: bool, mode: str | None = None, backend: str = "inductor"):
        opt = torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=1e-4, fused=device.type == "cuda")
        return step_fn(m, criterion, opt, device, dtype, torch.amp.GradScaler("cuda", enabled=scaled), mode, backend)

    # (a), (o) and the masked attention alone, interleaved step by step so that drift on a shared machine cancels
    orig = original_model(model)
    orig_dtype = torch.float16 if device.type == "cuda" else None
    # (a) is the default eager layout: packed queries on the CPU (fewer FLOPs), batch-max padded on CUDA (no index
    # gathers: a GPU step is launch-bound); "p" is the other one
    default_packed = device.type != "cuda"
    results["eager_layout"] = "packed" if default_packed else "padded"
    other = [unpacked(b) for b in batches] if default_packed else batches
    runs = {"a": (fresh(model, amp, scaled), batches if default_packed else [unpacked(b) for b in batches]),
            "o": (fresh(orig, orig_dtype, device.type == "cuda"), [pad_to(b, split_max) for b in batches]),
            "m": (fresh(orig, amp, False), [unpacked(b) for b in batches]),
            "p": (fresh(model, amp, scaled), other)}
    if device.type == "cpu":  # train_cfg.amp="bf16": bf16 autocast on the CPU
        runs["a16"] = (fresh(model, torch.bfloat16, False), batches)
    if args.original:  # (O) the original's own model and step, on the same batches in its loader's layout
        code = original_tim.load(Path(args.original))
        num_feats = next(iter(batches[0]["feature_times"].values())).shape[1]
        oargs = original_tim.original_args(model, cfg, num_feats)
        torch.manual_seed(0)
        omodel = original_tim.build_model(code, oargs, device)
        results["original_code"] = {"checkout": str(code.root), "run_as_is": original_tim.RUN_AS_IS,
                                    "re_driven": original_tim.RE_DRIVEN}
        runs["O"] = (original_tim.OriginalStep(code, oargs, omodel, device),
                     [original_tim.original_batch(b, model, split_max) for b in batches])
    medians = time_interleaved(runs, device, args.warmup)
    if "O" in medians:
        results["original_code"].update(step_ms=medians["O"] * 1000, windows_per_s=batch / medians["O"],
                                        rendering_over_code=medians["o"] / medians["O"])
        results["step_over_original_code"] = medians["O"] / medians["a"]
    step_s, orig_s, orig_bf = medians["a"], medians["o"], medians["m"]
    results["other_layout_step_ms"] = medians["p"] * 1000
    if "a16" in medians:
        results["cpu_bf16_step_ms"] = medians["a16"] * 1000
    results["step_ms"] = step_s * 1000
    results["step_windows_per_s"] = batch / step_s
    results["original_step_ms"] = orig_s * 1000
    results["original_windows_per_s"] = batch / orig_s
    results["masked_attention_step_ms"] = orig_bf * 1000
    t0 = phase("model steps, ours and the original's", t0)
    results["step_over_original"] = orig_s / step_s
    if args.profile:
        profile_steps(fresh(model, amp, scaled), batches, device)
    if args.step_only:
        print(step_table(results))
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=1))
        return 0
    # (i) inference at batch 256 as the runs do it (predict_split: loader, forward, on-device segment averaging)
    val = exp.load_split("val", train=False)
    results["inference_windows_per_s"] = time_inference(exp, model, val, device, inference_forward(model, None))
    results["val_windows"] = len(val.windows)
    t0 = phase("inference", t0)

    # (c) a full epoch through the real Trainer (epoch 2 timed: epoch 1 warms up kernels)
    with tempfile.TemporaryDirectory() as wd:
        fit = Trainer(exp, Path(wd), device, progress=False).fit()
    t0 = phase("trainer, 2 epochs", t0)
    epoch_s = fit.history[-1]["time_s"]
    results["epoch_s"] = epoch_s
    results["epoch_windows_per_s"] = windows / epoch_s
    results["end_to_end_over_step"] = results["epoch_windows_per_s"] / results["step_windows_per_s"]
    if device.type == "cuda":
        peak = next((v for k, v in PEAK_BF16.items() if k in results["device"]), None)
        if peak:
            results["share_of_bf16_peak"] = results["step_windows_per_s"] * 3 * FLOP_PER_WINDOW / peak
        results["peak_gpu_mem_gb"] = torch.cuda.max_memory_allocated() / 1e9
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    if args.compile:  # last: a compile failure or its time cannot cost the figures above
        compile_steps(args, exp, model, fresh, batches, split_max, amp, device, results, val,
                      save=lambda: args.out and Path(args.out).write_text(json.dumps(results, indent=1)))
    report(results)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 1 if results.get("first_losses_agree") is False else 0  # a compiled step that trains otherwise fails


def time_inference(exp: Experiment, model, val, device: torch.device, forward, batch: int = 256) -> float:
    """Windows/s of ``predict_split`` over the val split with ``forward`` (the second pass: the first compiles)."""
    loader = exp.loader(val, batch, False, DistInfo(), 0, device.type == "cuda")
    predict_split(model, loader, val, exp.dataset_name, device, progress=False, forward=forward)
    sync(device)
    t0 = time.perf_counter()
    predict_split(model, loader, val, exp.dataset_name, device, progress=False, forward=forward)
    sync(device)
    return len(val.windows) / (time.perf_counter() - t0)


def compile_steps(args, exp: Experiment, model, fresh, batches: list[dict], split_max: dict[str, int], amp,
                  device: torch.device, results: dict, val, save) -> None:
    """Per --compile mode: (a') its step on split-max-padded batches, interleaved with (a) again, and its first
    steps' losses against the eager step's (dropout and DRLoc off: the same maths, so a CUDA graph that read
    overwritten memory shows); (i') inference and (c') a Trainer epoch with it. A failing mode is reported, not fatal;
    the figures are saved after each part (``save``), so a time limit keeps what was measured."""
    padded = [pad_to(b, {s: -(-n // 8) * 8 for s, n in split_max.items()}) for b in batches]
    labels = args.compile.split(",")
    results["compiled"] = {}
    start = copy.deepcopy(model)  # the weights every first-steps check starts from (the timed steps train model)
    results["eager_first_losses"] = first_step_losses(start, exp, padded, amp, device, None, args.backend)
    for label in labels:
        mode = compile_mode(True if label == "True" else label, device.type)  # off CUDA, reduce-overhead warns
        entry = results["compiled"][label] = {"ran_as": mode}
        t0 = time.perf_counter()
        try:
            step = fresh(model, amp, device.type == "cuda", mode, args.backend)
            for b in padded[:3]:  # compiles
                step(b)
            sync(device)
            entry["compile_s"] = time.perf_counter() - t0
            eager = batches if results["eager_layout"] == "packed" else [unpacked(b) for b in batches]
            medians = time_interleaved({"eager": (fresh(model, amp, device.type == "cuda"), eager),
                                        "compiled": (step, padded)}, device, args.warmup)
            entry.update(step_ms=medians["compiled"] * 1000, eager_step_ms=medians["eager"] * 1000)
            entry["first_losses"] = first_step_losses(start, exp, padded, amp, device, mode, args.backend)
        except Exception as exc:  # a benchmark reports the failure and keeps the other figures
            entry["error"] = failure(exc)
        phase(f"compiled step, {label}: {entry}", t0)
        save()
    compare_first_losses(results)
    for i, label in enumerate(labels):
        entry = results["compiled"][label]
        t0 = time.perf_counter()
        entry.update(compiled_inference(args, exp, model, val, device, entry["ran_as"], probe=i == 0))
        phase(f"compiled inference, {label}", t0)
        t0 = time.perf_counter()
        entry.update(compiled_epoch(args, exp, device, label, results["train_windows"]))
        phase(f"trainer with compile={label}, 2 epochs", t0)
        save()
    first = results["compiled"][labels[0]]  # the first mode's figures are the issue table's fast path
    for key, name in (("inference_windows_per_s", "compiled_inference_windows_per_s"),
                      ("inference_error", "compiled_inference_error"), ("epoch_s", "compiled_epoch_s"),
                      ("epoch_windows_per_s", "compiled_epoch_windows_per_s"), ("epoch_error", "compiled_epoch_error"),
                      ("probed_inference", "probed_inference")):
        if key in first:
            results[name] = first[key]


#: first training steps whose losses each compile mode must reproduce from the same weights and batches
FIRST_STEPS = 5
#: relative difference allowed between their losses: fp16 autocast rounds differently in fused and unfused kernels
#: (a read of overwritten CUDA-graph memory gives NaN or a loss off by far more)
FIRST_LOSS_RTOL = 1e-2


def first_step_losses(model, exp: Experiment, batches: list[dict], amp, device: torch.device, mode: str | None,
                      backend: str) -> list[float]:
    """The losses of ``FIRST_STEPS`` training steps (the Trainer's maths: AdamW, GradScaler on CUDA, clipping) from a
    copy of ``model`` with dropout and DRLoc off, so the losses depend on nothing random; ``mode`` compiles."""
    net = copy.deepcopy(model).train()
    for m in net.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
        elif isinstance(getattr(m, "dropout", None), float):  # attention's dropout probability
            m.dropout = 0.0
    loss_cfg = exp.cfg.loss
    criterion = TIMLoss(net.tasks, loss_cfg.label_smoothing, dict(loss_cfg.stream_weights), 0.0, loss_cfg.m_drloc)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=1e-4, fused=device.type == "cuda")
    step = step_fn(net, criterion, optimizer, device, amp, torch.amp.GradScaler("cuda", enabled=device.type == "cuda"),
                   mode, backend, packed=False)
    return [float(step(b)) for b in batches[:FIRST_STEPS]]  # each read before the next step


def max_rel_diff(a: list[float], b: list[float]) -> float:
    """The largest relative difference between two loss sequences (inf when one is not finite or they differ in
    length)."""
    if len(a) != len(b) or not all(np.isfinite(a + b)):
        return float("inf")
    return max(abs(x - y) / max(abs(y), 1e-12) for x, y in zip(a, b))


def compare_first_losses(results: dict) -> None:
    """Each mode's first-steps losses against the eager step's, and reduce-overhead's against default's:
    ``first_losses_agree`` is whether all are within ``FIRST_LOSS_RTOL``."""
    eager, modes = results["eager_first_losses"], results["compiled"]
    agree = True
    for entry in modes.values():
        if "first_losses" in entry:
            entry["first_loss_rel_diff_vs_eager"] = max_rel_diff(entry["first_losses"], eager)
            agree &= entry["first_loss_rel_diff_vs_eager"] <= FIRST_LOSS_RTOL
    graphs, default = modes.get("reduce-overhead", {}), modes.get("default", {})
    if "first_losses" in graphs and "first_losses" in default:
        results["reduce_overhead_vs_default_rel_diff"] = max_rel_diff(graphs["first_losses"], default["first_losses"])
        agree &= results["reduce_overhead_vs_default_rel_diff"] <= FIRST_LOSS_RTOL
    results["first_losses_agree"] = agree and any("first_losses" in e for e in modes.values())


def compiled_inference(args, exp: Experiment, model, val, device: torch.device, mode: str | None,
                       probe: bool) -> dict:
    """(i') inference compiled as the runs compile it (queries padded to the split maximum, the last batch padded)
    at batch 256 and, with ``probe``, at the batch size the default run's probe chooses (test_cfg.probe_batch_size)."""
    out: dict = {}
    try:
        val.dataset.pad_queries()
        forward = inference_forward(model, mode, args.backend)
        out["inference_windows_per_s"] = time_inference(exp, model, val, device, forward)
        if forward.mode is None:
            out["inference_error"] = "the compile failed and inference ran eagerly (see the warning)"
        if probe:
            choice = choose_batch_size(True, 256, probe_forward(model, mode), model, val, device, "val")
            wps = time_inference(exp, model, val, device, inference_forward(model, mode, args.backend),
                                 choice.batch_size)
            out["probed_inference"] = {**choice.describe(), "windows_per_s": wps}
    except Exception as exc:  # a benchmark reports the failure and keeps the other figures
        out["inference_error"] = failure(exc)
    return out


def compiled_epoch(args, exp: Experiment, device: torch.device, label: str, windows: int) -> dict:
    """(c') a Trainer run of 2 epochs with train_cfg.compile=``label``; the second epoch's figures."""
    exp.cfg.train_cfg.compile = label
    trainer_module.train_forward = functools.partial(train_forward, backend=args.backend)  # --backend: CPU tests
    trainer_module.inference_forward = functools.partial(inference_forward, backend=args.backend)
    try:
        with tempfile.TemporaryDirectory() as wd:
            fit = Trainer(exp, Path(wd), device, progress=False).fit()
        return {"epoch_s": fit.history[-1]["time_s"], "epoch_windows_per_s": windows / fit.history[-1]["time_s"],
                "trainer_compiled_as": fit.procedure["compile"]}
    except Exception as exc:
        return {"epoch_error": failure(exc)}
    finally:
        exp.cfg.train_cfg.compile = False
        trainer_module.train_forward, trainer_module.inference_forward = train_forward, inference_forward


def failure(exc: Exception) -> str:
    """An exception as one line for the figures."""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def step_rows(r: dict) -> list[tuple[str, float, float]]:
    """(name, ms/step, windows/s) of each eager step formulation timed."""
    other = "packed" if r["eager_layout"] == "padded" else "batch-max padded"
    rows = []
    if "step_ms" in r.get("original_code", {}):
        c = r["original_code"]
        rows.append(("(O) original code (JacobChalk/TIM) step", c["step_ms"], c["windows_per_s"]))
    rows += [(f"(a) default eager step ({r['eager_layout']})", r["step_ms"], r["step_windows_per_s"]),
            (f"    ours, {other} queries", r["other_layout_step_ms"], r["batch"] / r["other_layout_step_ms"] * 1000),
            ("(o) bench rendering of the original step", r["original_step_ms"], r["original_windows_per_s"]),
            ("    masked attention, batch-max pad", r["masked_attention_step_ms"], r["batch"] / r["masked_attention_step_ms"] * 1000)]
    if "cpu_bf16_step_ms" in r:
        rows.append(('    (a) with train_cfg.amp="bf16" (CPU)', r["cpu_bf16_step_ms"], r["batch"] / r["cpu_bf16_step_ms"] * 1000))
    return rows


def step_table(r: dict) -> str:
    """The step formulations as lines, with each over the original's (o) step time."""
    lines = [f"{r['device']}, {r['dims']} dims, batch {r['batch']}: mean {r['mean_tokens_per_window']:.1f} tokens/window "
             f"padded to the batch maximum, {r['mean_computed_tokens_per_window']:.1f} computed when packed; split max "
             f"queries {r['split_max_queries']}"]
    anchor, label = (r["original_code"]["step_ms"], "(O)") if "step_ms" in r.get("original_code", {}) \
        else (r["original_step_ms"], "(o)")
    for name, ms, wps in step_rows(r):
        lines.append(f"{name:42s} {ms:9.1f} ms/step {wps:10,.0f} windows/s   {ms / anchor:.2f}x {label}'s time")
    return "\n".join(lines + original_note(r))


def original_note(r: dict) -> list[str]:
    """What of the original code ran as is and what was re-driven, and how far its rendering (o) is from it."""
    c = r.get("original_code")
    if not c or "step_ms" not in c:
        return ["(O) not timed: give --original CHECKOUT (a JacobChalk/TIM checkout) to time the original's own code"]
    return [f"(O) original code from {c['checkout']}; run as is: {c['run_as_is']}; re-driven: {c['re_driven']}",
            f"(o) the bench's rendering takes {c['rendering_over_code']:.2f}x (O)'s step time"]


def report(r: dict) -> None:
    print(f"\n{r['device']}, {r['dims']} dims, batch {r['batch']}, {r['train_windows']:,} train windows "
          f"(mean {r['mean_tokens_per_window']:.1f} tokens/window; split max queries {r['split_max_queries']})")
    rows = step_rows(r)
    for mode, c in r.get("compiled", {}).items():
        if "error" in c:
            print(f"compile={mode} failed: {c['error']}")
        elif "step_ms" in c:
            rows.append((f"(a') compile={mode}, split-max pad", c["step_ms"], r["batch"] / c["step_ms"] * 1000))
            rows.append(("    (a) again, interleaved with it", c["eager_step_ms"], r["batch"] / c["eager_step_ms"] * 1000))
    for name, ms, wps in rows:
        print(f"{name:42s} {ms:9.1f} ms/step {wps:10,.0f} windows/s")
    print(f"{'(b) loader alone':42s} {'':9s}         {r['loader_windows_per_s']:10,.0f} windows/s")
    print(f"{'(c) Trainer epoch, eager (end to end)':42s} {r['epoch_s']:9.2f} s/epoch {r['epoch_windows_per_s']:10,.0f} windows/s")
    for mode, c in r.get("compiled", {}).items():
        if "epoch_s" in c:
            name = f"(c') Trainer epoch, compile={mode}"
            print(f"{name:42s} {c['epoch_s']:9.2f} s/epoch {c['epoch_windows_per_s']:10,.0f} windows/s  "
                  f"({r['epoch_s'] / c['epoch_s']:.2f}x eager epoch"
                  + (f", {c['epoch_windows_per_s'] * c['step_ms'] / 1000 / r['batch']:.0%} of its step)"
                     if "step_ms" in c else ")"))
        if "epoch_error" in c:
            print(f"Trainer epoch with compile={mode} failed: {c['epoch_error']}")
    for mode, c in r.get("compiled", {}).items():
        if "step_ms" in c:
            print(f"compile={mode}: step {c['eager_step_ms'] / c['step_ms']:.2f}x eager (compiled in {c['compile_s']:.0f} s)")
    print(f"{'(i) inference, batch 256, eager':42s} {'':9s}         {r['inference_windows_per_s']:10,.0f} windows/s")
    for mode, c in r.get("compiled", {}).items():
        if "inference_windows_per_s" in c:
            name = f"(i') inference, batch 256, compile={mode}"
            print(f"{name:42s} {'':9s}         {c['inference_windows_per_s']:10,.0f} windows/s")
        if "probed_inference" in c:
            p = c["probed_inference"]
            name = f"(i') inference, probed batch {p['batch_size']}, {mode}"
            print(f"{name:42s} {'':9s}         {p['windows_per_s']:10,.0f} windows/s  (probe windows/s by batch: "
                  f"{p.get('probe_windows_per_s')}{'; ' + p['probe_stopped'] if p.get('probe_stopped') else ''})")
        if "inference_error" in c:
            print(f"compiled inference with compile={mode} failed: {c['inference_error']}")
    if "first_losses_agree" in r:
        diffs = ", ".join(f"{m} {c['first_loss_rel_diff_vs_eager']:.1e}" for m, c in r["compiled"].items()
                          if "first_loss_rel_diff_vs_eager" in c)
        between = r.get("reduce_overhead_vs_default_rel_diff")
        print(f"first {FIRST_STEPS} steps' losses (dropout and DRLoc off), largest relative difference to eager: "
              f"{diffs}" + (f"; reduce-overhead to default: {between:.1e}" if between is not None else "")
              + f" -> {'agree' if r['first_losses_agree'] else 'DISAGREE'} within {FIRST_LOSS_RTOL:g}")
    print(f"end to end / model step: {r['end_to_end_over_step']:.0%}   model step vs original: "
          f"{r['step_over_original']:.2f}x   store built in {r['store_build_s']:.1f} s"
          + (f"   step at {r['share_of_bf16_peak']:.1%} of bf16 peak" if "share_of_bf16_peak" in r else ""))
    print("\n".join(original_note(r)))
    print(issue_table(r))


def issue_table(r: dict) -> str:
    """Issue 23's table: original code, its rendering, the default eager step, the default fast path, the default
    run's Trainer epoch and inference, in windows/s and as a multiple of the original code's (else the rendering's)."""
    code = r.get("original_code", {}).get("windows_per_s")
    anchor, name = (code, "(O)") if code else (r["original_windows_per_s"], "(o)")
    compiled = r.get("compiled", {}).get("default", {})
    fast = r["batch"] / compiled["step_ms"] * 1000 if "step_ms" in compiled else None
    cuda = r["device"] != "" and not r["device"].startswith("cpu")
    rows = [("original code (JacobChalk/TIM)", code), ("bench rendering of the original", r["original_windows_per_s"]),
            ("default eager step", r["step_windows_per_s"]),
            ("default fast path (compiled step)" if cuda else "default fast path (CPU: the eager step)",
             fast if cuda else r["step_windows_per_s"]),
            ("Trainer epoch, default run" + (" (compiled)" if cuda else " (eager)"),
             r.get("compiled_epoch_windows_per_s") if cuda else r["epoch_windows_per_s"]),
            ("inference, default" + (" (compiled, probed batch size)" if cuda else " (eager)"),
             r.get("probed_inference", {}).get("windows_per_s") if cuda else r["inference_windows_per_s"])]
    lines = [f"\n| {r['recipe']}, {r['dims']} dims, batch {r['batch']}, {r['device']} | windows/s | x {name} |",
             "|---|---|---|"]
    for label, wps in rows:
        lines.append(f"| {label} | {wps:,.0f} | {wps / anchor:.2f} |" if wps else f"| {label} | not measured | |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
