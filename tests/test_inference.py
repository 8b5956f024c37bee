"""Evaluation averages each segment's logits over every window that queries it (fp32), per task."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from tim_bench.config import load_config
from tim_bench.runner.experiment import Experiment
from tim_bench.distributed import DistInfo
from tim_bench.evaluation.predict import predict_split
from tim_bench_plugins.ave.synthetic import make_ave

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py"


def test_logits_are_averaged_over_every_window_of_a_segment(tmp_path):
    root = make_ave(tmp_path / "ave", videos=30, visual_dim=8, audio_dim=4)
    cfg = load_config(CONFIG, {"data_root": str(root), "model.d_model": 16, "model.num_layers": 1, "model.nhead": 2,
                               "windows.num_feats": 5})  # 5-s windows every second: up to 5 per segment
    exp = Experiment(cfg)
    data = exp.load_split("val", train=False)
    torch.manual_seed(0)
    model = exp.build_model().eval()
    preds = predict_split(model, exp.loader(data, 3, False, DistInfo()), data, "AVE", torch.device("cpu"),
                          progress=False)

    sums: dict[tuple[str, int], np.ndarray] = {}
    counts: dict[tuple[str, int], int] = {}
    with torch.no_grad():
        for batch in exp.loader(data, 1, False, DistInfo()):  # one window at a time: no batching, no padding
            out = model(batch["features"], batch["feature_times"], batch["query_times"])
            for task in model.tasks:
                for q, row in enumerate(batch["query_rows"][task.stream][0].tolist()):
                    key = (task.key, row)
                    sums[key] = sums.get(key, 0) + out.logits[task.key][0, q].double().numpy()
                    counts[key] = counts.get(key, 0) + 1
    seg = data.annotations.segments
    assert max(counts.values()) == 5
    for task in model.tasks:
        got = preds.task(task.key)
        rows = [r for (k, r) in counts if k == task.key]
        assert sorted(got.ids) == sorted(seg["segment_id"].to_numpy()[rows])
        index = {sid: i for i, sid in enumerate(got.ids)}
        for row in rows:
            expected = sums[(task.key, row)] / counts[(task.key, row)]
            np.testing.assert_allclose(got.logits[index[seg["segment_id"].iloc[row]]], expected, atol=1e-5)
