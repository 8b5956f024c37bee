"""On a GPU: the original's fp16 autocast + GradScaler is the default, bf16 an explicit option that the run
records (the choice itself is tested on the CPU in test_packed_queries.py)."""
from __future__ import annotations

import json

import pytest
import torch

from helpers import tiny_epic_experiment, train_watching_dtypes

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _train(tmp_path, amp):
    fit, dtypes = train_watching_dtypes(tmp_path / str(amp), amp, "cuda:0", layers=2)
    return fit, dtypes, torch.load(tmp_path / str(amp) / "wd" / "last.pth", weights_only=True)


def test_cuda_default_is_fp16_autocast_with_a_grad_scaler_and_float32_features(tmp_path):
    fit, dtypes, last = _train(tmp_path, True)
    assert dtypes == {torch.float16}
    assert (fit.procedure["autocast"], fit.procedure["grad_scaler"], fit.procedure["feature_dtype"]) == \
        ("float16", True, "float32")
    assert "scale" in last["scaler"]  # the scaler ran and its state is kept for --resume


def test_cuda_bf16_is_an_explicit_option_recorded_in_the_run(tmp_path):
    from tim_bench.runner.jobs import run_experiment
    if not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    fit, dtypes, last = _train(tmp_path, "bf16")
    assert dtypes == {torch.bfloat16} and last["scaler"] == {}
    assert (fit.procedure["autocast"], fit.procedure["grad_scaler"]) == ("bfloat16", False)
    exp = tiny_epic_experiment(tmp_path / "data", {})
    run_experiment(exp.cfg["_path"], {"data_root": exp.data_root, "features.visual.dim": 6, "features.audio.dim": 5,
                                      "train_cfg.amp": "bf16", "train_cfg.max_epochs": 1, "model.d_model": 16,
                                      "model.num_layers": 1},
                   work_dir=str(tmp_path / "run"), results_dir=str(tmp_path / "store"))
    record = json.loads((tmp_path / "run" / "result.json").read_text())
    assert record["training_procedure"]["autocast"] == "bfloat16"
    from tim_bench.leaderboard.tables import build_tables
    labels = [row.label for t in build_tables([record], []) for row in t.measured_rows]
    assert labels and all("[amp=bfloat16]" in label for label in labels)
