"""train_cfg.compile: padding queries to the split maximum leaves the loss and every gradient unchanged, the
compiled forward+loss equals the eager one, and a bad value fails with one clear sentence."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import tiny_epic_experiment
from tim_bench.config import load_config
from tim_bench.data.dataset import WindowBatches
from tim_bench.data.store import FeatureStore
from tim_bench.model import compiled
from tim_bench.model.losses import TIMLoss
from tim_bench.runner import trainer as trainer_module
from tim_bench.runner.experiment import Experiment
from tim_bench.runner.trainer import Trainer
from tim_bench_registry import TimBenchError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
NO_DROPOUT = {"model.d_model": 16, "model.num_layers": 2, "model.nhead": 2, "model.enc_dropout": 0.0,
              "model.feat_dropout": 0.0, "model.seq_dropout": 0.0}


@pytest.fixture(scope="module")
def epic(tmp_path_factory) -> Experiment:
    return tiny_epic_experiment(tmp_path_factory.mktemp("epic"), NO_DROPOUT)


def _dataset(exp: Experiment) -> WindowBatches:
    data = exp.load_split("train", train=True)
    videos = list(dict.fromkeys(data.windows.video_ids.tolist()))
    store = FeatureStore(exp.sources, "train", videos, torch.device("cpu"), "host", "float32")
    return WindowBatches(data.windows, data.queries, store, True, seed=3, mixup_alpha=0.2)


def _loss_and_grads(exp: Experiment, batch: dict, run=None) -> tuple[dict, dict]:
    torch.manual_seed(0)
    model = exp.build_model().train()
    criterion = TIMLoss(model.tasks, 0.2, {"visual": 1.0, "audio": 0.5}, 0.3, 8)
    forward = run(model, criterion) if run else compiled.TrainForward(model, model, criterion, None)
    torch.manual_seed(1)  # same DRLoc pairs on both sides (the batch carries its mixup draw)
    assert "mix" in batch
    parts = forward(batch)
    parts["loss"].backward()
    return ({k: v.detach() for k, v in parts.items()},
            {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})


def _assert_close(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=1e-5, atol=1e-6, msg=k)


def test_split_max_padding_keeps_loss_and_gradients(epic):
    data = _dataset(epic)
    order = np.random.default_rng(0).permutation(len(data))
    index = order[: max(2, len(data) // 3)].tolist()
    plain = data[index]
    sizes = data.pad_queries(multiple=8)
    padded = data[index]
    assert set(sizes) == {"visual", "audio"} and all(n % 8 == 0 and n > 0 for n in sizes.values())
    for key, y in padded["labels"].items():
        stream = next(t.stream for t in data.queries.tasks if t.key == key)
        assert y.shape[1] == sizes[stream] >= plain["labels"][key].shape[1]
        assert (y[:, plain["labels"][key].shape[1]:] == -1).all()  # the extra queries are ignored
    loss_plain, grads_plain = _loss_and_grads(epic, plain)
    loss_padded, grads_padded = _loss_and_grads(epic, padded)
    _assert_close(loss_padded, loss_plain)
    _assert_close(grads_padded, grads_plain)


@pytest.mark.slow
def test_compiled_forward_equals_eager(epic):
    data = _dataset(epic)
    data.pad_queries()
    batch = data[list(range(min(6, len(data))))]
    want = _loss_and_grads(epic, batch)
    run = lambda model, criterion: compiled.train_forward(model, model, criterion, None, "default",  # noqa: E731
                                                           backend="aot_eager")
    got = _loss_and_grads(epic, batch, run)
    _assert_close(got[0], want[0])
    _assert_close(got[1], want[1])


@pytest.mark.slow
def test_trainer_with_compile_trains_on_padded_batches(epic, tmp_path, monkeypatch, caplog):
    """The Trainer's compile path end to end (aot_eager on CPU: inductor's code generation is the GPU bench's); the
    first compile's time is logged, and is part of the epoch's time."""
    monkeypatch.setattr(trainer_module, "train_forward", functools.partial(compiled.train_forward,
                                                                           backend="aot_eager"))
    cfg = load_config(CONFIGS / "epic_av.py", {**{k: epic.cfg[k] for k in ("data_root",)},
                                               "features.visual.dim": 6, "features.audio.dim": 5, **NO_DROPOUT,
                                               "train_cfg.compile": True, "train_cfg.max_epochs": 1,
                                               "train_cfg.batch_size": 8, "splits.val": None, "splits.test": None})
    with caplog.at_level("INFO", logger="tim_bench"):
        fit = Trainer(Experiment(cfg), tmp_path, torch.device("cpu"), progress=False).fit()
    assert fit.epochs_trained == 1 and np.isfinite(fit.history[0]["train_loss"])
    compiled_line = [r.getMessage() for r in caplog.records if "graph compiled in" in r.getMessage()]
    assert len(compiled_line) == 1 and "the training graph compiled in" in compiled_line[0], compiled_line
    seconds = float(compiled_line[0].split("compiled in ")[1].split(" s")[0])
    assert 0 < seconds <= fit.history[0]["time_s"] + 0.05, (seconds, fit.history[0])


@pytest.mark.parametrize("value", ["fast", 1, "max-autotune"], ids=["unknown-mode", "int", "cudagraph-autotune"])
def test_bad_compile_value_fails_clearly(value):
    with pytest.raises(TimBenchError, match=r"train_cfg\.compile=.*is not valid.*reduce-overhead"):
        compiled.compile_mode(value)


@pytest.mark.parametrize("value,mode", [(False, None), (True, "default"), ("reduce-overhead", "reduce-overhead")])
def test_compile_values(value, mode):
    assert compiled.compile_mode(value, "cuda") == mode


def test_cuda_graphs_off_cuda_warn_by_name_and_compile_as_default(caplog):
    with caplog.at_level("WARNING", logger="tim_bench"):
        assert compiled.compile_mode("reduce-overhead", "cpu") == "default"
    [message] = [r.getMessage() for r in caplog.records]
    assert "train_cfg.compile='reduce-overhead'" in message and "CUDA graphs" in message and "'default'" in message


@pytest.mark.parametrize("device,world,mode", [("cuda", 1, "default"), ("cpu", 1, None), ("cuda", 2, None)],
                         ids=["one-gpu", "cpu", "torchrun"])
def test_auto_compiles_on_one_cuda_device_only(device, world, mode):
    assert compiled.compile_mode("auto", device, world) == mode


def _failing_backend(graph_module, example_inputs):
    raise RuntimeError("no C++ compiler on this machine")


def test_failed_compile_warns_and_trains_eagerly(epic, caplog):
    """A backend that cannot compile: one named warning, then the eager step's loss and gradients exactly."""
    data = _dataset(epic)
    data.pad_queries()
    batch = data[list(range(min(4, len(data))))]
    want = _loss_and_grads(epic, batch)
    run = lambda model, criterion: compiled.train_forward(model, model, criterion, None, "default",  # noqa: E731
                                                          backend=_failing_backend)
    with caplog.at_level("WARNING", logger="tim_bench"):
        forward_holder = {}

        def build(model, criterion):
            forward_holder["f"] = run(model, criterion)
            return forward_holder["f"]
        got = _loss_and_grads(epic, batch, build)
    _assert_close(got[0], want[0])
    _assert_close(got[1], want[1])
    assert forward_holder["f"].mode is None  # what the run record reports as the step that ran
    messages = [r.getMessage() for r in caplog.records if "torch.compile" in r.getMessage()]
    assert len(messages) == 1 and "no C++ compiler" in messages[0] and "eagerly" in messages[0]
