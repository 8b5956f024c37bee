"""The eager training step's kernel launches (bench/op_count.py, the CPU-visible proxy for a launch-bound GPU
step) do not grow back: a change that adds operators per layer or per task shows here before it costs GPU time."""
from __future__ import annotations

import collections
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
#: launches per step measured at small dims (batch 16, 2 layers, EPIC AV) when this test was written, plus ~2 %
CEILING = {"packed": 545, "padded": 430, "packed_amp": 707, "padded_amp": 585}
#: the padded step under fp16 autocast + GradScaler (CUDA's default eager step) at tiny dims (batch 8, 1 layer):
#: the count when this ceiling was set, plus ~2 %
TINY_PADDED_AMP_CEILING = 457


@pytest.mark.slow
def test_eager_step_launches_stay_below_their_ceiling(tmp_path):
    out = tmp_path / "ops.json"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "op_count.py"), "--json", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    counts = json.loads(out.read_text())
    for layout, ceiling in CEILING.items():
        total = counts[layout]["total"]
        assert 0 < total <= ceiling, f"{layout}: {total} launches per step (ceiling {ceiling}); see {counts[layout]}"
        assert {"mm", "addmm", "bmm"} & set(counts[layout]["ops"])  # the products are counted, not only views
    assert counts["padded"]["total"] < counts["packed"]["total"]  # CUDA's eager layout: no index gathers
    assert counts["padded_amp"]["total"] < counts["packed_amp"]["total"]
    assert counts["padded_amp"]["casts"] > counts["padded"]["casts"]  # autocast's casts are counted
    assert all(counts[layout]["host_syncs"] == {} for layout in CEILING)  # the step never reads the device


def test_padded_autocast_step_launches_stay_below_their_ceiling(tmp_path):
    """CUDA's default eager step (padded queries, fp16 autocast + GradScaler), counted on the CPU at tiny dims:
    more launches per step (casts, copies, per-layer or per-task operators) fail here before they cost GPU time."""
    sys.path.insert(0, str(REPO / "bench"))
    from helpers import tiny_epic_experiment
    from op_count import CASTS, count_step, trainer_step, training_batches
    from throughput import unpacked
    from tim_bench.model.losses import TIMLoss

    exp = tiny_epic_experiment(tmp_path, {"model.d_model": 16, "model.num_layers": 1, "model.nhead": 2,
                                          "splits.val": None, "splits.test": None})
    batches = [unpacked(b) for b in training_batches(exp, 8, count=4)]
    assert all("mix" in b for b in batches)  # mixup on, as the recipe trains
    torch.manual_seed(0)
    model = exp.build_model().train()
    criterion = TIMLoss(model.tasks, 0.2, {"visual": 1.0, "audio": 0.01}, 0.3, 32)
    ops, syncs = count_step(trainer_step(model, criterion, amp=True), batches)
    total = sum(ops.values())
    assert 0 < total <= TINY_PADDED_AMP_CEILING, f"{total} launches per step (ceiling {TINY_PADDED_AMP_CEILING}): {ops}"
    assert sum(ops[op] for op in CASTS) > 0 and {"mm", "addmm", "bmm"} & set(ops)  # autocast and products counted
    assert syncs == {}


def test_one_autocast_region_casts_each_weight_once_and_keeps_the_loss_in_fp32(tmp_path):
    """Forward and loss run in one fp16 autocast region, as the original's: every weight, the DRLoc MLP's (in the
    loss) included, is cast to fp16 exactly once per step (a second use is served by autocast's cache within the
    region), and the loss parts stay fp32 (the original's CE and L1 run in fp32 under CUDA autocast)."""
    from tim_bench.model.compiled import TrainForward
    from tim_bench.model.losses import TIMLoss
    from torch.utils._python_dispatch import TorchDispatchMode

    class WeightCasts(TorchDispatchMode):
        def __init__(self, params: dict[int, str]) -> None:
            super().__init__()
            self.params, self.casts = params, collections.Counter()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001 (torch's signature)
            if func.overloadpacket.__name__ == "_to_copy" and args[0].data_ptr() in self.params:
                self.casts[self.params[args[0].data_ptr()]] += 1
            return func(*args, **(kwargs or {}))

    sys.path.insert(0, str(REPO / "bench"))
    from helpers import tiny_epic_experiment
    from op_count import training_batches
    from throughput import unpacked

    exp = tiny_epic_experiment(tmp_path, {"model.d_model": 16, "model.num_layers": 2, "model.nhead": 2,
                                          "splits.val": None, "splits.test": None})
    batch = unpacked(training_batches(exp, 8, count=1)[0])
    model = exp.build_model().train()
    criterion = TIMLoss(model.tasks, 0.2, {"visual": 1.0, "audio": 0.01}, 0.3, 32)
    params = {p.data_ptr(): name for name, p in model.named_parameters()}
    with WeightCasts(params) as counter:
        parts = TrainForward(model, model, criterion, torch.float16, packed=False)(batch)
        parts["loss"].backward()
    matmul_weights = {name for name, p in model.named_parameters() if p.dim() == 2}
    assert {"encoder.layers.1.self_attn.in_proj_weight", "drloc_mlp.4.weight"} <= matmul_weights
    assert set(counter.casts) >= matmul_weights and set(counter.casts.values()) == {1}, counter.casts
    assert {name: v.dtype for name, v in parts.items()} == {name: torch.float32 for name in parts}


def test_trainer_epoch_reads_the_device_only_at_log_lines_and_epoch_ends(tmp_path):
    """No host sync per step: the epoch's loss is summed on the device and read at the log lines (every
    log_interval steps and the epoch's last) and once at the epoch's end. Counted on the CPU with the bench's
    dispatch counter (on a GPU each read makes the host wait for the device's queue)."""
    sys.path.insert(0, str(REPO / "bench"))
    from helpers import tiny_epic_experiment
    from op_count import LaunchCounter
    from tim_bench.runner.trainer import Trainer

    reads, steps = {}, {}
    for interval in (1, 1000):
        exp = tiny_epic_experiment(tmp_path / f"data{interval}", {
            "model.d_model": 16, "model.num_layers": 1, "model.nhead": 2, "train_cfg.max_epochs": 2,
            "train_cfg.batch_size": 4, "splits.val": None, "splits.test": None, "train_cfg.log_interval": interval})
        with LaunchCounter() as counter:
            Trainer(exp, tmp_path / f"wd{interval}", torch.device("cpu"), progress=False).fit()
        reads[interval] = sum(counter.syncs.values())
        steps[interval] = 2 * -(-len(exp.load_split("train", train=True).windows) // 4)
    assert steps[1] >= 8
    assert reads[1000] <= 3 * 2  # at most three reads per epoch (its last log line, its mean loss), none per step
    assert reads[1] - reads[1000] == steps[1] - 2  # a log line on every step reads once more per step
