"""configs/perception_av.py trains on synthetic Perception Test (official JSON + .npy features) well above chance."""
from __future__ import annotations

import json

import pytest

from helpers import tim_bench

CHANCE_ACTION, CHANCE_SOUND = 100 / 63, 100 / 17


@pytest.mark.slow
def test_perception_recipe_learns_the_planted_actions_and_sounds(tmp_path):
    data, work = tmp_path / "perception", tmp_path / "work"
    tim_bench("make-synthetic", "perception", str(data), "--videos", "80", "--visual-dim", "32", "--audio-dim", "24")
    tim_bench("run", "configs/perception_av.py", "--work-dir", str(work), "--results-dir", str(tmp_path / "results"),
              "--cfg-options", f"data_root={data}", "features.visual.dim=32", "features.audio.dim=24",
              "model.d_model=32", "model.num_layers=1", "model.nhead=2", "train_cfg.max_epochs=8",
              "train_cfg.batch_size=16", "train_cfg.lr=3e-3", "train_cfg.warmup_epochs=0", "loss.mixup_alpha=0",
              "loss.lambda_drloc=0", "windows.window_stride=2")
    result = json.loads((work / "result.json").read_text())
    metrics = result["metrics"]
    assert result["dataset"] == "PerceptionTest" and result["split"] == "val" and result["main_metric"] == "action_top1"
    assert result["synthetic_data"] is True
    assert set(metrics) == {f"{t}_{m}" for t in ("action", "sound") for m in ("top1", "top5", "mca")}
    assert metrics["action_top1"] > 6 * CHANCE_ACTION, metrics
    assert metrics["sound_top1"] > 2.5 * CHANCE_SOUND, metrics
