"""The inference batch size: predictions do not depend on it beyond float rounding, and the probe
(test_cfg.probe_batch_size) times its candidates on the split's first windows, picks the fastest, stops at an
out-of-memory candidate and is recorded; "auto" probes on CUDA only, so a CPU run keeps test_cfg.batch_size."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import tiny_epic_experiment
from tim_bench.distributed import DistInfo
from tim_bench.evaluation import batch_size
from tim_bench.evaluation.predict import predict_split
from tim_bench.model.compiled import probe_forward
from tim_bench.runner.trainer import Trainer

SMALL = {"model.d_model": 16, "model.num_layers": 1, "model.nhead": 2}
#: windows never see each other: another batch size only sums in another order (float32 rounding)
ATOL = 1e-5
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def epic(tmp_path_factory):
    exp = tiny_epic_experiment(tmp_path_factory.mktemp("epic"), SMALL)
    val = exp.load_split("val", train=False)
    torch.manual_seed(0)
    return exp, val, exp.build_model().eval()


def test_predictions_agree_at_two_batch_sizes(epic):
    exp, val, model = epic
    small, large = 3, len(val.windows)  # every batch short of the split against the whole split in one batch
    by_size = {b: predict_split(model, exp.loader(val, b, False, DistInfo()), val, exp.dataset_name, CPU,
                                progress=False) for b in (small, large)}
    for t in model.tasks:
        a, b = by_size[small].by_task[t.key], by_size[large].by_task[t.key]
        assert list(a.ids) == list(b.ids) and len(a.ids) > 0
        np.testing.assert_allclose(a.logits, b.logits, atol=ATOL, rtol=0, err_msg=t.key)


def test_probe_times_every_candidate_and_picks_the_fastest(epic):
    exp, val, model = epic
    exp.loader(val, 2, False, DistInfo())  # the split's batches (val.dataset)
    choice = batch_size.choose_batch_size(True, 2, probe_forward(model, None), model, val, CPU, "val")
    assert choice.chosen_by == "probe" and list(choice.windows_per_s) == batch_size.candidates(2, len(val.windows))
    assert choice.windows_per_s[choice.batch_size] == max(choice.windows_per_s.values()) > 0
    assert choice.stopped is None and not model.training
    record = choice.describe()
    assert record["batch_size"] == choice.batch_size and set(record["probe_windows_per_s"]) == \
        {str(b) for b in choice.windows_per_s}


def test_candidates_stop_at_the_split():
    assert batch_size.candidates(128, 10_000) == [128, 256, 512, 1024, 2048]
    assert batch_size.candidates(128, 300) == [128, 256, 300]
    assert batch_size.candidates(128, 40) == [40]


@pytest.mark.parametrize("value,device,world,probes", [("auto", "cpu", 1, False), ("auto", "cuda", 1, True),
                                                        (True, "cpu", 1, True), (False, "cuda", 1, False),
                                                        ("auto", "cuda", 2, False)])
def test_auto_probes_on_one_cuda_device_only(value, device, world, probes):
    assert batch_size.wants_probe(value, device, world) is probes


def test_auto_on_the_cpu_keeps_the_configured_batch_size(epic):
    exp, val, model = epic
    exp.loader(val, 5, False, DistInfo())
    choice = batch_size.choose_batch_size("auto", 5, probe_forward(model, None), model, val, CPU, "val")
    assert choice.describe() == {"batch_size": 5, "chosen_by": "test_cfg.batch_size"}


def test_out_of_memory_ends_the_probe_at_the_last_size_that_fit(epic):
    """The device's limit stands in as a forward that raises the error CUDA raises past 4 windows."""
    exp, val, model = epic
    exp.loader(val, 2, False, DistInfo())
    real = probe_forward(model, None)
    calls = []

    def limited(batch):
        calls.append(len(batch["index"]))
        if len(batch["index"]) > 4:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(batch)
    model.train()
    choice = batch_size.choose_batch_size(True, 2, limited, model, val, CPU, "val")
    assert list(choice.windows_per_s) == [2, 4] and choice.batch_size in (2, 4)
    assert choice.stopped == "batch size 8 ran out of device memory" and max(calls) == 8  # 16 never tried
    assert model.training  # the model's mode is restored


def test_trainer_validates_at_the_probed_batch_size_and_reports_it(tmp_path, caplog):
    exp = tiny_epic_experiment(tmp_path / "data", {**SMALL, "train_cfg.max_epochs": 1, "train_cfg.batch_size": 8,
                                                   "test_cfg.batch_size": 2, "test_cfg.probe_batch_size": True,
                                                   "splits.test": None})
    with caplog.at_level("INFO", logger="tim_bench"):
        fit = Trainer(exp, tmp_path / "wd", CPU, progress=False).fit()
    assert fit.val_batch["chosen_by"] == "probe" and fit.history[0]["val"]
    assert str(fit.val_batch["batch_size"]) in fit.val_batch["probe_windows_per_s"]
    line = next(r.getMessage() for r in caplog.records if "inference batch size for validation" in r.getMessage())
    assert f": {fit.val_batch['batch_size']}, the fastest" in line

