"""CUDA graphs (train_cfg.compile="reduce-overhead") reuse a graph's output memory at its next call. The Trainer
and the validation must consume a step's outputs before the next one: checked on the CPU with a compile backend
that, as CUDA graphs do, overwrites every output of a call (with NaN) when it is called again. A run that read a
loss, logits or anything else of an earlier step would see NaN or another number; it must equal the eager run.
Off CUDA, "reduce-overhead" warns by name and compiles as "default"."""
from __future__ import annotations

import functools
import math

import pytest
import torch

from helpers import tiny_epic_experiment
from tim_bench.model import compiled
from tim_bench.runner import trainer as trainer_module
from tim_bench.runner.trainer import Trainer

NO_DROPOUT = {"model.d_model": 16, "model.num_layers": 1, "model.nhead": 2, "model.enc_dropout": 0.0,
              "model.feat_dropout": 0.0, "model.seq_dropout": 0.0}
#: eager and compiled differ by float reassociation only (the padded query layout against the packed one)
RTOL = 1e-4


def overwriting_backend(graph_module: torch.fx.GraphModule, example_inputs: list) -> object:
    """Runs the traced graph as is, but first overwrites the outputs of its previous call (not its inputs: the
    parameters and the batch are not the graph's memory), as a CUDA graph's replay overwrites its static outputs."""
    previous: list[torch.Tensor] = []

    def run(*args):
        with torch.no_grad():
            for t in previous:
                t.fill_(math.nan)
        previous.clear()
        outputs = graph_module.forward(*args)
        inputs = {a.untyped_storage().data_ptr() for a in args if isinstance(a, torch.Tensor)}
        previous.extend(o.detach() for o in outputs if isinstance(o, torch.Tensor) and o.is_floating_point()
                        and o.untyped_storage().data_ptr() not in inputs)
        return outputs
    return run


def _fit(tmp_path, compile_value, monkeypatch=None):
    exp = tiny_epic_experiment(tmp_path / "data", {**NO_DROPOUT, "train_cfg.compile": compile_value,
                                                   "train_cfg.max_epochs": 2, "train_cfg.batch_size": 8,
                                                   "test_cfg.batch_size": 8, "train_cfg.log_interval": 2,
                                                   "splits.test": None})
    assert len(exp.load_split("train", train=True).windows) % 8  # a short last batch, stepped eagerly
    torch.manual_seed(0)  # the same initial weights
    return Trainer(exp, tmp_path / "wd", torch.device("cpu"), progress=False).fit()


@pytest.mark.slow
def test_trainer_consumes_every_output_before_the_next_step(tmp_path, monkeypatch, caplog):
    torch._dynamo.reset()
    monkeypatch.setattr(trainer_module, "train_forward", functools.partial(compiled.train_forward,
                                                                           backend=overwriting_backend))
    monkeypatch.setattr(trainer_module, "inference_forward", functools.partial(compiled.inference_forward,
                                                                               backend=overwriting_backend))
    with caplog.at_level("WARNING", logger="tim_bench"):
        graphs = _fit(tmp_path / "graphs", "reduce-overhead")
    warned = [r.getMessage() for r in caplog.records if "reduce-overhead" in r.getMessage()]
    assert warned and "compiles with mode 'default'" in warned[0]  # no CUDA here: named, never silent
    assert graphs.procedure["compile"] == "default"
    assert not [r for r in caplog.records if "failed, so" in r.getMessage()]  # compiled, no eager fallback
    eager = _fit(tmp_path / "eager", False)
    for got, want in zip(graphs.history, eager.history, strict=True):
        assert got["train_loss"] == pytest.approx(want["train_loss"], rel=RTOL)
        assert got["val"] and got["val"] == pytest.approx(want["val"], rel=RTOL, abs=1e-6)
