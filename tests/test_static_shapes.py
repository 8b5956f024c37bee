"""Compiled training and validation keep static shapes (no recompile for an epoch's short last batch nor for the
validation batches), and compiled inference with its on-device segment averaging gives the eager predictions."""
from __future__ import annotations

import functools
from collections import defaultdict

import numpy as np
import pytest
import torch

from helpers import tiny_epic_experiment
from tim_bench.model import compiled
from tim_bench.runner import trainer as trainer_module
from tim_bench.distributed import DistInfo
from tim_bench.evaluation.predict import predict_split
from tim_bench.runner.trainer import Trainer

SMALL = {"model.d_model": 16, "model.num_layers": 1, "model.nhead": 2}
#: compiled and eager inference differ only by float reassociation (the same ops, aot_eager on the CPU)
ATOL = 1e-5


def _host_average(model, loader, data) -> dict[str, dict[str, np.ndarray]]:
    """The reference: each batch's logits copied to the host, then per-segment means in numpy."""
    seg = data.annotations.segments
    sums: dict = defaultdict(lambda: defaultdict(float))
    counts: dict = defaultdict(int)
    with torch.no_grad():
        for batch in loader:
            logits = model(batch["features"], batch["feature_times"], batch["query_times"]).logits
            for t in model.tasks:
                rows = batch["query_rows"][t.stream].numpy()
                for (w, q) in zip(*np.nonzero(rows >= 0)):
                    sums[t.key][rows[w, q]] = sums[t.key][rows[w, q]] + logits[t.key][w, q].numpy().astype(np.float64)
                    if t is next(x for x in model.tasks if x.stream == t.stream):
                        counts[(t.stream, rows[w, q])] += 1
    return {t.key: {seg["segment_id"].iloc[r]: v / counts[(t.stream, r)] for r, v in sums[t.key].items()}
            for t in model.tasks}


def test_compiled_inference_and_device_averaging_give_the_eager_host_predictions(tmp_path):
    exp = tiny_epic_experiment(tmp_path, SMALL)
    val = exp.load_split("val", train=False)
    torch.manual_seed(0)
    model = exp.build_model().eval()
    eager = predict_split(model, exp.loader(val, 8, False, DistInfo()), val, exp.dataset_name, torch.device("cpu"),
                          progress=False)
    assert len(val.windows) % 8, "the last batch must be short for this test"
    reference = _host_average(model, exp.loader(val, 8, False, DistInfo()), val)
    val.dataset.pad_queries()  # what the Trainer does when it compiles
    forward = compiled.inference_forward(model, "default", backend="aot_eager")
    fast = predict_split(model, exp.loader(val, 8, False, DistInfo()), val, exp.dataset_name, torch.device("cpu"),
                         progress=False, forward=forward)
    assert forward.mode == "default" and forward.windows == 8  # compiled, the short last batch padded to 8 windows
    for t in model.tasks:
        a, b = eager.by_task[t.key], fast.by_task[t.key]
        assert list(a.ids) == list(b.ids) and len(a.ids) == len(reference[t.key])
        np.testing.assert_allclose(b.logits, a.logits, atol=ATOL, rtol=0, err_msg=t.key)
        host = np.stack([reference[t.key][i] for i in a.ids])
        np.testing.assert_allclose(a.logits, host, atol=ATOL, rtol=0, err_msg=t.key)


@pytest.mark.slow
def test_compiled_epochs_with_a_short_last_batch_and_validation_never_recompile(tmp_path, monkeypatch, caplog):
    graphs = []

    def counting_backend(graph_module, example_inputs):
        graphs.append(len(example_inputs))
        return graph_module.forward
    monkeypatch.setattr(trainer_module, "train_forward", functools.partial(compiled.train_forward,
                                                                           backend=counting_backend))
    monkeypatch.setattr(trainer_module, "inference_forward", functools.partial(compiled.inference_forward,
                                                                               backend=counting_backend))
    torch._dynamo.reset()
    exp = tiny_epic_experiment(tmp_path / "data", {**SMALL, "train_cfg.compile": True, "train_cfg.max_epochs": 2,
                                                   "train_cfg.batch_size": 8, "test_cfg.batch_size": 8,
                                                   "train_cfg.val_interval": 1, "splits.test": None})
    assert len(exp.load_split("train", train=True).windows) % 8 and len(exp.load_split("val", train=False).windows) % 8
    # a second graph of one frame is a hard error, which the Trainer would warn of and fall back from
    no_recompile = torch._dynamo.config.patch(recompile_limit=1, fail_on_recompile_limit_hit=True)
    with caplog.at_level("WARNING", logger="tim_bench"), no_recompile:
        fit = Trainer(exp, tmp_path / "wd", torch.device("cpu"), progress=False).fit()
    assert not [r for r in caplog.records if "torch.compile" in r.getMessage()]  # no fallback (that hides a recompile)
    assert fit.procedure["compile"] == "default" and len(fit.history) == 2 and all(h["val"] for h in fit.history)
    assert len(graphs) >= 2  # the training graph and the inference graph compiled (each maybe split at graph breaks)
