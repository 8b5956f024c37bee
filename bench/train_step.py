"""Training-step time of TIM at the EPIC audio-visual defaults (d_model 512, 4 layers, 8 heads, 50 features).

Compares queries padded to the batch's own maximum (tim-bench) with padding to the split maximum
(34 visual + 28 audio, as the original does), same code otherwise. Prints medians.

    python bench/train_step.py --batch 8 --steps 10            # CPU
    python bench/train_step.py --batch 64 --steps 30 --amp     # GPU
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from tim_bench.model.losses import TIMLoss
from tim_bench.model.tim import TIM, Mix
from tim_bench_registry import Task

TASKS = (Task("visual", "verb", 97), Task("visual", "noun", 300), Task("visual", "action", 3806),
         Task("audio", "interaction", 44))
MEAN_QUERIES = {"visual": 6.7, "audio": 5.9}  # real EPIC-100 + EPIC-Sounds val windows (original_performance.md)
SPLIT_MAX = {"visual": 34, "audio": 28}


def make_batch(batch: int, feats: int, pad_to: dict[str, int] | None, device: torch.device, rng: np.random.Generator):
    counts = {s: np.clip(rng.poisson(m, batch), 1, SPLIT_MAX[s]) for s, m in MEAN_QUERIES.items()}
    nq = {s: int(pad_to[s]) if pad_to else int(c.max()) for s, c in counts.items()}
    features = {"visual": torch.randn(batch, feats, 1024, device=device),
                "audio": torch.randn(batch, feats, 2304, device=device)}
    ftimes = {s: torch.rand(batch, feats, 2, device=device).sort(-1).values for s in features}
    qtimes = {s: torch.rand(batch, nq[s], 2, device=device).sort(-1).values for s in nq}
    labels = {}
    for t in TASKS:
        lab = torch.randint(t.num_classes, (batch, nq[t.stream]), device=device)
        valid = torch.arange(nq[t.stream], device=device)[None] < torch.as_tensor(counts[t.stream], device=device)[:, None]
        labels[t.key] = torch.where(valid, lab, -1)
    return features, ftimes, qtimes, labels


def time_steps(model: TIM, criterion: TIMLoss, opt, batches, amp: bool, device: torch.device) -> list[float]:
    times = []
    for features, ftimes, qtimes, labels in batches:
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        mix = Mix(0.7, torch.randperm(features["visual"].shape[0], device=device))
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            out = model(features, ftimes, qtimes, mix=mix)
            loss = criterion(out.logits, labels, out.feature_tokens, model.drloc_mlp, 2, mix)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA)")
    args = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    model = TIM({"visual": 1024, "audio": 2304}, TASKS, d_model=512, nhead=8, num_layers=4).to(device).train()
    criterion = TIMLoss(TASKS, stream_weights={"audio": 0.01})
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4, fused=True)
    rng = np.random.default_rng(0)
    results = {}
    for name, pad in (("batch-max padding (tim-bench)", None), ("split-max padding (original)", SPLIT_MAX)):
        batches = [make_batch(args.batch, 50, pad, device, rng) for _ in range(args.steps + 2)]
        times = time_steps(model, criterion, opt, batches, args.amp, device)[2:]  # 2 warm-up steps
        results[name] = statistics.median(times)
        print(f"{name:32s} median {results[name] * 1000:8.1f} ms/step = {args.batch / results[name]:8.1f} windows/s")
    a, b = results.values()
    print(f"speed-up of batch-max over split-max padding: {b / a:.2f}x  (device {device}, batch {args.batch}, "
          f"threads {torch.get_num_threads()})")


if __name__ == "__main__":
    main()
