"""The training procedure matches the original TIM by default: its lr schedule, uniform batches, its per-stream
best checkpoints and early-stop criterion, its multitask top-5; bucketing is an explicit, recorded option."""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch

from bad_input import assert_clear_error, run_cli
from tim_bench.data.sampler import BucketBatchSampler, UniformBatchSampler
from tim_bench.evaluation.selection import StreamBest, original_view
from tim_bench.leaderboard.tables import build_tables
from tim_bench.runner.jobs import run_experiment
from tim_bench.runner.schedule import original_lr, warmup_cosine
from tim_bench.runner.trainer import raise_stream_bests
from tim_bench_registry import TimBenchError

CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "epic_av.py")


class OriginalLinearWarmup:
    """pytorch_warmup 0.1.1's LinearWarmup (the original's environment.yml pins it), line for line."""

    def __init__(self, optimizer: torch.optim.Optimizer, warmup_period: int) -> None:
        self.optimizer, self.warmup_period, self.last_step = optimizer, warmup_period, -1
        self.lrs = [group["lr"] for group in optimizer.param_groups]
        self.dampen()

    def dampen(self) -> None:
        self.last_step += 1
        for group in self.optimizer.param_groups:
            group["lr"] *= min(1.0, (self.last_step + 1) / self.warmup_period)

    @contextmanager
    def dampening(self):
        for group, lr in zip(self.optimizer.param_groups, self.lrs):
            group["lr"] = lr
        yield
        self.lrs = [group["lr"] for group in self.optimizer.param_groups]
        self.dampen()


def _original_lrs(base_lr: float, warmup: int, total: int) -> list[float]:
    """The lr each iteration's optimiser step uses in the original's train.py (same construction and order)."""
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total, eta_min=1e-6)
    warm = OriginalLinearWarmup(opt, warmup)
    used = []
    for _ in range(total):
        used.append(opt.param_groups[-1]["lr"])
        opt.step()
        with warm.dampening():
            cosine.step()
    return used


@pytest.mark.parametrize("base_lr, warmup, total", [(1e-4, 6, 40), (5e-4, 10, 10), (1e-4, 1, 7), (3e-3, 24, 120)],
                         ids=["epic", "warmup-is-all", "one-iteration-warmup", "long"])
def test_lr_equals_the_originals_cosine_times_linear_warmup_at_every_iteration(base_lr, warmup, total):
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    scheduler = warmup_cosine(opt, 1e-6, warmup, total)
    ours = []
    for _ in range(total):  # the trainer's order: step with the current lr, then scheduler.step()
        ours.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    reference = _original_lrs(base_lr, warmup, total)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours, [original_lr(i, base_lr, 1e-6, warmup, total) for i in range(total)],
                               rtol=0, atol=1e-12)
    assert ours[0] == pytest.approx(base_lr / warmup, abs=1e-12)  # warm-up and cosine both start at iteration 0


def test_uniform_sampler_is_a_plain_shuffle_with_a_short_last_batch_and_even_ddp_shards():
    counts = np.r_[np.ones(30, int), np.full(23, 9)]
    sampler = UniformBatchSampler(len(counts), 8, shuffle=True, seed=3)
    sampler.set_epoch(1)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(53))
    assert [len(b) for b in batches] == [8] * 6 + [5] and len(sampler) == 7
    sampler.set_epoch(2)
    assert list(sampler) != batches  # a new order each epoch
    # batch_size is the global batch (the original divides it by the number of GPUs): two processes make as many
    # steps as one, each step's windows across the ranks are the one-process batch, the last one padded as the
    # original's DistributedSampler pads (with the permutation's first window)
    shards = [list(UniformBatchSampler(len(counts), 8, True, 3, rank=r, world_size=2)) for r in range(2)]
    one = list(UniformBatchSampler(len(counts), 8, True, 3))
    assert len(shards[0]) == len(shards[1]) == len(one) == 7
    assert [len(b) for b in shards[0]] == [4] * 6 + [3]
    for k, batch in enumerate(one):
        assert sorted(shards[0][k] + shards[1][k]) == sorted(batch + ([one[0][0]] if len(batch) % 2 else []))
    with pytest.raises(TimBenchError, match=r"batch_size=1 is the global batch.*2 processes.*no optimiser step"):
        UniformBatchSampler(len(counts), 1, True, 3, rank=0, world_size=2)
    assert len(BucketBatchSampler(counts, 8, True, 3, rank=1, world_size=2)) == 7
    assert len(list(BucketBatchSampler(counts, 8, True, 3, rank=1, world_size=2))) == 7
    assert list(UniformBatchSampler(len(counts), 8, shuffle=False)) == [list(range(i, min(i + 8, 53)))
                                                                       for i in range(0, 53, 8)]


def test_bucketed_sampler_groups_query_counts_which_uniform_does_not():
    counts = np.r_[np.ones(400, int), np.full(400, 9)]
    spread = {}
    for name, sampler in (("uniform", UniformBatchSampler(len(counts), 16, True, 0)),
                          ("bucketed", BucketBatchSampler(counts, 16, True, 0))):
        sampler.set_epoch(1)
        spread[name] = np.mean([np.ptp(counts[b]) for b in sampler])
    assert spread["bucketed"] < 0.5 < spread["uniform"]


def test_a_stream_best_needs_a_value_above_zero_and_then_a_strictly_greater_one_as_the_original():
    bests = (StreamBest("visual", "acc_visual", ("acc_visual",)), StreamBest("audio", "acc_audio", ("acc_audio",)))
    kept: dict = {}
    assert raise_stream_bests(bests, kept, {"acc_visual": 0.0, "acc_audio": 10.0}, 1) == ["audio"]
    assert set(kept) == {"audio"}  # 0 % at the first validation is no best (the original starts its bests at 0)
    assert raise_stream_bests(bests, kept, {"acc_visual": 5.0, "acc_audio": 10.0}, 2) == ["visual"]  # a tie: no
    assert raise_stream_bests(bests, kept, {"acc_visual": 4.0, "acc_audio": 11.0}, 3) == ["audio"]
    assert (kept["visual"]["epoch"], kept["audio"]["epoch"], kept["audio"]["value"]) == (2, 3, 11.0)


def test_the_original_view_takes_each_metric_from_the_best_that_reports_it():
    bests = (StreamBest("visual", "acc_visual", ("acc_visual",)), StreamBest("audio", "acc_audio", ("acc_*",)))
    blocks = {"visual": {"metrics": {"acc_visual": 70.0}}, "audio": {"metrics": {"acc_audio": 60.0, "acc_visual": 1.0}}}
    assert original_view(blocks, bests) == {"acc_visual": 70.0, "acc_audio": 60.0}


@pytest.fixture(scope="module")
def epic_root(shared_data, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("epic")
    outcome = run_cli(["make-synthetic", "epic", str(root), "--annotations", str(shared_data), "--max-videos", "2",
                       "--visual-dim", "16", "--audio-dim", "8", "--signal", "3"])
    assert outcome.code == 0, outcome.output
    return root


TINY = {"model.d_model": 16, "model.num_layers": 1, "model.nhead": 2, "train_cfg.max_epochs": 3,
        "train_cfg.batch_size": 8, "train_cfg.lr": 3e-3, "train_cfg.warmup_epochs": 1, "windows.window_stride": 10,
        "features.visual.dim": 16, "features.audio.dim": 8, "test_cfg.batch_size": 64}


@pytest.mark.slow
def test_epic_av_trains_both_ways_and_records_per_stream_bests_and_the_sampler(epic_root, tmp_path):
    records = {}
    for sampler in ("uniform", "bucketed"):
        options = {"data_root": str(epic_root), **TINY}
        if sampler == "bucketed":
            options["train_cfg.sampler"] = "bucketed"
        run_experiment(CONFIG, options, work_dir=str(tmp_path / sampler), results_dir=str(tmp_path / "store"))
        records[sampler] = json.loads((tmp_path / sampler / "result.json").read_text())

    default = records["uniform"]
    assert default["sampler"] == "uniform" and default["training_procedure"]["sampler"] == "uniform"
    assert records["bucketed"]["sampler"] == "bucketed"
    assert default["training_procedure"]["early_stop_on"] == "visual"
    # on CPU the features stay float32 and the step eager; both are recorded because both change the numbers
    assert default["training_procedure"]["feature_dtype"] == "float32"
    assert default["training_procedure"]["compile"] is False
    assert default["training_procedure"]["autocast"] == "off"  # the original's fp32 on the CPU

    lines = (tmp_path / "uniform" / "metrics.jsonl").read_text().splitlines()
    history = [h for h in map(json.loads, lines) if not h.get("final")]  # epochs, not the final evaluation
    best = default["stream_best"]
    assert set(best) <= {"visual", "visual_mt", "audio"}
    for name, metric in (("visual", "tim_action_head_top1"), ("visual_mt", "tim_verb_noun_top1"),
                         ("audio", "all_interaction_accuracy_at_1")):
        values = [h["val"][metric] for h in history]
        if max(values) == 0:  # the original's bests start at 0: a stream never above it has no best checkpoint
            assert name not in best and not (tmp_path / "uniform" / f"best_{name}.pth").exists()
            continue
        block = best[name]
        # the original's rule: the first epoch reaching the maximum (strictly better replaces)
        assert block["metric"] == metric and block["epoch"] == 1 + values.index(max(values)), (name, values)
        assert block["value"] == max(values)
        assert block["metrics"][metric] == pytest.approx(block["value"], abs=1e-9)  # scored split is val here
        assert Path(block["checkpoint"]).is_file()
        assert torch.load(block["checkpoint"], weights_only=True)["epoch"] == block["epoch"]
    # the original's "Visual Acc@5" (verb in top 5 AND noun in top 5) beside the official action@5
    assert {"tim_verb_noun_top5", "all_action_accuracy_at_5"} <= set(default["metrics"])
    assert default["metrics"]["tim_verb_noun_top5"] >= default["metrics"]["tim_verb_noun_top1"]
    assert "visual_mt" not in best or "tim_verb_noun_top5" in best["visual_mt"]["metrics"]
    view = default["metrics_original_selection"]
    if "audio" in best:
        assert view["all_interaction_accuracy_at_1"] == best["audio"]["metrics"]["all_interaction_accuracy_at_1"]
    if "visual" in best:
        assert view["all_verb_accuracy_at_1"] == best["visual"]["metrics"]["all_verb_accuracy_at_1"]

    labels = [row.label for t in build_tables(records.values(), []) for row in t.measured_rows]
    assert any("[sampler=bucketed]" in label for label in labels)
    assert any("sampler=" not in label for label in labels)


def test_an_unknown_sampler_is_refused_with_the_choices(epic_root, tmp_path):
    outcome = run_cli(["train", CONFIG, "--work-dir", str(tmp_path), "--cfg-options", f"data_root={epic_root}",
                       "train_cfg.sampler=sorted", *(f"{k}={v}" for k, v in TINY.items())])
    assert_clear_error(outcome, "train_cfg.sampler", "'sorted'", "'uniform'", "'bucketed'", code=2)
