"""Operator launches per training step: the CPU-visible proxy for a launch-bound GPU step.

A GPU step of TIM is bound by how many kernels it launches (each costs a few microseconds of host time whatever
its size), not by arithmetic. This counts, with torch.profiler on the CPU and the same model and batches as
bench/throughput.py, the leaf ATen operators one training step runs (forward, loss, backward, clipping and the
optimiser step): each is one kernel launch on a GPU (or more). Layouts counted, each in fp32 (the CPU's
default) and under fp16 autocast + GradScaler (``*_amp``: the original's and the default precision on CUDA,
run here with the CPU's float16 autocast), casts (``_to_copy``) and copies (``copy_``/``clone``) also apart.
A proxy, not CUDA's count: the CPU's autocast runs layer norm and softmax in fp16 (CUDA's in fp32, so its casts
sit elsewhere), fuses no half-to-float softmax, and a CPU dropout or SDPA is several operators (one kernel on CUDA).

  packed   the default eager step on the CPU (real query tokens only; index gathers per layer),
  padded   the eager step on batch-max padded queries (the default eager step on CUDA: no index shuffles),
  compiled with --compile: the inductor-compiled forward+loss on split-max padded queries (fused kernels,
           counted with inductor's per-kernel profiling), backward and optimiser as the Trainer runs them.

    python bench/op_count.py                      # small dims, eager layouts
    python bench/op_count.py --compile --json out.json
"""
from __future__ import annotations

import argparse
import collections
import functools
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import RECIPES, REPO, pad_to, step_fn, unpacked  # noqa: E402  (the bench's shared step)

from tim_bench.config import load_config  # noqa: E402
from tim_bench.model.losses import TIMLoss  # noqa: E402
from tim_bench.runner.experiment import Experiment  # noqa: E402
from tim_bench.distributed import DistInfo  # noqa: E402
from tim_bench_plugins.epic.synthetic import make_epic  # noqa: E402


#: ATen operators that only make views, alias or allocate: no kernel runs for them on a GPU
NO_KERNEL = {"view", "_unsafe_view", "_reshape_alias", "as_strided", "detach", "alias", "t", "transpose", "permute",
             "expand", "unsqueeze", "squeeze", "slice", "select", "unbind", "split", "split_with_sizes", "narrow",
             "empty", "empty_like", "empty_strided", "resize_", "lift_fresh", "_to_copy_noop", "resolve_conj",
             "resolve_neg", "_record_function_enter_new", "_record_function_exit", "_local_scalar_dense"}
#: ATen operators that make the host wait for the device (a value read, or an output sized by the data)
HOST_SYNC = {"_local_scalar_dense", "nonzero", "masked_select", "_unique", "_unique2", "unique_dim", "unique_consecutive"}
#: ATen operators that only change a tensor's dtype (autocast's casts and explicit .float()/.to(dtype); "to" is how
#: the profiler names one in the compiled layout)
CASTS = {"_to_copy", "to"}
#: ATen operators that copy a tensor as it is (.contiguous(), .clone(), copies into a buffer)
COPIES = {"copy_", "clone", "_copy_from", "_copy_from_and_resize"}
DIMS = RECIPES["epic_av"]["dims"]


class LaunchCounter(TorchDispatchMode):
    """Counts the ATen operators dispatched to a backend (below autograd, after composite operators decompose):
    each launches one kernel on a GPU (a multi-tensor ``_foreach_``/``_fused_`` operator counts once, as on a GPU),
    less views and allocations."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: collections.Counter = collections.Counter()
        self.syncs: collections.Counter = collections.Counter()  # HOST_SYNC operators (on a GPU: the host waits)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001 (torch's signature)
        name = func.overloadpacket.__name__
        if name not in NO_KERNEL:
            self.counts[name] += 1
        if name in HOST_SYNC:
            self.syncs[name] += 1
        return func(*args, **(kwargs or {}))


def compiled_kernels(prof: torch.profiler.profile) -> collections.Counter:
    """Kernels a compiled step ran: inductor's generated kernels (recorded with ``cpp.enable_kernel_profile``),
    the ATen operators the compiled graphs call directly (matrix products), and the operators run eagerly
    outside the graphs (clipping, the optimiser), each counted at its top level as the dispatcher sees it."""
    counts: collections.Counter = collections.Counter()
    for event in prof.events():
        parent = event.cpu_parent
        if "cpp_fused" in event.name or "triton_" in event.name:
            counts["inductor kernel"] += 1
        elif not event.name.startswith("aten::") or event.name.removeprefix("aten::") in NO_KERNEL:
            continue
        elif event.name == "aten::to" and not event.cpu_children:  # already that dtype and device: no copy
            continue
        elif parent is not None and "CompiledFxGraph" in parent.name:
            counts[event.name.removeprefix("aten::")] += 1
        elif (parent is None or not parent.name.startswith("aten::")) and not _inside_compiled(event):
            counts[event.name.removeprefix("aten::")] += 1
    return counts


def _inside_compiled(event) -> bool:  # noqa: ANN001 (a profiler event)
    parent = event.cpu_parent
    while parent is not None:
        if "CompiledFxGraph" in parent.name or "CompiledFunction" in parent.name:
            return True
        parent = parent.cpu_parent
    return False


def count_step(step: Callable[[dict], None], batches: list[dict],
               compiled: bool = False) -> tuple[collections.Counter, collections.Counter]:
    """Kernel launches and host syncs per step (the syncs counted on the eager layouts only), averaged over
    ``batches`` after two warm-up steps (lazy state, compiles)."""
    for b in batches[:2]:
        step(b)
    timed = batches[2:]
    if compiled:
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for b in timed:
                step(b)
        total, syncs = compiled_kernels(prof), collections.Counter()
    else:
        with LaunchCounter() as counter:
            for b in timed:
                step(b)
        total, syncs = counter.counts, counter.syncs
    per_step = lambda c: collections.Counter({k: round(v / len(timed)) for k, v in c.items()})  # noqa: E731
    return per_step(total), per_step(syncs)


def build(dims: dict, videos: int, annotations: str, data: Path) -> tuple[Experiment, list[dict], dict[str, int]]:
    """Synthetic EPIC-100 + EPIC-Sounds over ``videos`` real validation videos, the experiment, six training
    batches and each stream's split-max query count."""
    root = data / "epic"
    if not (root / "features").is_dir():
        make_epic(root, annotations=annotations, max_videos=videos, visual_dim=dims["visual"], audio_dim=dims["audio"])
    overrides = {"data_root": str(root), "features.visual.dim": dims["visual"], "features.audio.dim": dims["audio"],
                 "model.d_model": dims["d_model"], "model.num_layers": dims["layers"], "model.nhead": dims["heads"],
                 "train_cfg.batch_size": dims["batch"], "train_cfg.max_epochs": 1, "train_cfg.num_workers": 0,
                 "splits.val": None, "splits.test": None}
    exp = Experiment(load_config(REPO / "configs" / "epic_av.py", overrides), cache_dir=data / "cache")
    batches = training_batches(exp, dims["batch"])
    split_max = {s: max(int(b["query_times"][s].shape[1]) for b in batches) for s in batches[0]["query_times"]}
    return exp, batches, split_max


def training_batches(exp: Experiment, batch_size: int, count: int = 6) -> list[dict]:
    """The first ``count`` training batches of epoch 1 (with their mixup draws), as the Trainer's loader yields them."""
    train = exp.load_split("train", train=True)
    loader = exp.loader(train, batch_size, True, DistInfo(), 0, False)
    loader.batch_sampler.set_epoch(1)
    train.dataset.set_epoch(1)
    return [b for _, b in zip(range(count), loader)]


def trainer_step(model: torch.nn.Module, criterion: TIMLoss, amp: bool = False,
                 mode: str | None = None) -> Callable[[dict], None]:
    """A training step as the Trainer runs it: fp32, or (``amp``) fp16 autocast + GradScaler as on CUDA."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4, fused=True)  # as the Trainer
    return step_fn(model, criterion, opt, torch.device("cpu"), torch.float16 if amp else None,
                   torch.amp.GradScaler("cpu", enabled=amp), mode)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dims", choices=DIMS, default="small")
    ap.add_argument("--videos", type=int, default=2, help="real validation videos carved into the train split")
    ap.add_argument("--annotations", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--compile", action="store_true", help="also count the inductor-compiled step (slow: compiles)")
    ap.add_argument("--top", type=int, default=12, help="operators listed per layout")
    ap.add_argument("--json", help="write {layout: {total, ops}} here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    dims = DIMS[args.dims]
    with tempfile.TemporaryDirectory() as tmp:
        exp, batches, split_max = build(dims, args.videos, args.annotations, Path(tmp))
        torch.manual_seed(0)
        model = exp.build_model().train()
        criterion = TIMLoss(model.tasks, 0.2, {"visual": 1.0, "audio": 0.01}, 0.3, 32)

        fresh = functools.partial(trainer_step, model, criterion)
        padded = [unpacked(b) for b in batches]
        layouts = {"packed": (fresh(), batches), "padded": (fresh(), padded),
                   "packed_amp": (fresh(amp=True), batches), "padded_amp": (fresh(amp=True), padded)}
        if args.compile:
            import torch._inductor.config as inductor_config
            inductor_config.cpp.enable_kernel_profile = True  # a record_function per generated kernel
            layouts["compiled"] = (fresh(mode="default"), [pad_to(b, split_max) for b in batches])
        result = {}
        for name, (step, data) in layouts.items():
            ops, syncs = count_step(step, data, compiled=name == "compiled")
            result[name] = {"total": sum(ops.values()), "casts": sum(ops[op] for op in CASTS),
                            "copies": sum(ops[op] for op in COPIES), "ops": dict(ops.most_common())}
            if name != "compiled":
                result[name]["host_syncs"] = dict(syncs)
            print(f"{name}: {result[name]['total']} operator launches per training step "
                  f"({args.dims} dims, batch {dims['batch']}, {dims['layers']} layers), of which casts "
                  f"{result[name]['casts']}, copies {result[name]['copies']}"
                  + (f", host syncs {dict(syncs) or 0}" if name != "compiled" else ""))
            for op, n in ops.most_common(args.top):
                print(f"    {n:5d}  {op}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
