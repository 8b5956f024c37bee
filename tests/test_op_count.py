"""The eager training step's kernel launches (bench/op_count.py, the CPU-visible proxy for a launch-bound GPU
step) do not grow back: a change that adds operators per layer or per task shows here before it costs GPU time."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
#: launches per step measured at small dims (batch 16, 2 layers, EPIC AV) when this test was written, plus ~2 %
CEILING = {"packed": 740, "padded": 680, "packed_amp": 910, "padded_amp": 840}
#: the padded step under fp16 autocast + GradScaler (CUDA's default eager step) at tiny dims (batch 8, 1 layer):
#: the count when this ceiling was set, plus ~2 %
TINY_PADDED_AMP_CEILING = 695


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
