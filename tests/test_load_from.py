"""``load_from`` (the original's ``--train --pretrained_model``): a run starts from a checkpoint's weights, loaded
strictly through the converter under the weights_only / trust rules, and the run record says so."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from bad_input import assert_clear_error, run_cli
from tim_bench.runner.load_from import load_from_spec

CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py")
TINY = ["model.d_model=16", "model.num_layers=1", "model.nhead=2", "train_cfg.batch_size=4", "train_cfg.max_epochs=1",
        "train_cfg.warmup_epochs=0", "test_cfg.batch_size=16", "train_cfg.amp=False"]


class Meter:
    """Stands in for the original's pickled meters."""

    def __init__(self) -> None:
        self.history = [1.0]


def original_layout(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The original TIM's key names for a tim-bench AVE state dict (both streams' one task is the 'action' role)."""
    out = {}
    for key, value in state.items():
        stream = key.split(".")[1].split("_")[0] if key.startswith(("heads.", "query_tokens.")) else None
        if key.startswith("modality_encodings."):
            key = f"feature_encoding.{key.split('.')[1]}_modality_encoding"
        elif key.startswith("embedders."):
            key = "feature_encoding.{}_embedder.{}".format(*key.removeprefix("embedders.").split(".", 1))
        elif key.startswith("query_tokens."):
            key = f"feature_encoding.{stream}_action_cls"
        elif key.startswith("heads."):
            key = f"cls_head.fc_{stream}_action.{key.rsplit('.', 1)[1]}"
        elif key.startswith("encoder."):
            key = "transformer_encoder." + key.removeprefix("encoder.")
        out[key] = value
    return out


@pytest.fixture(scope="module")
def ave(tmp_path_factory) -> tuple[Path, Path]:
    """Synthetic AVE and a 1-epoch tim-bench checkpoint trained on it."""
    root = tmp_path_factory.mktemp("ave")
    assert run_cli(["make-synthetic", "ave", str(root), "--videos", "30", "--visual-dim", "8",
                    "--audio-dim", "6"]).code == 0
    wd = tmp_path_factory.mktemp("pretrain")  # outside data_root: a work dir there is refused
    outcome = run_cli(["train", CONFIG, "--work-dir", str(wd), "--cfg-options", f"data_root={root}", *TINY])
    assert outcome.code == 0, outcome.output
    return root, wd / "best.pth"


@pytest.mark.slow
def test_fine_tuning_starts_from_the_loaded_weights_and_records_them(ave, tmp_path):
    root, pretrained = ave
    source = torch.load(pretrained, weights_only=True)["model"]
    wd = tmp_path / "finetune"
    # lr 0: training cannot move the weights, so the best checkpoint must equal the loaded ones
    outcome = run_cli(["run", CONFIG, "--work-dir", str(wd), "--results-dir", str(tmp_path / "store"),
                       "--cfg-options", f"data_root={root}", f"load_from={pretrained}", "train_cfg.lr=0",
                       "train_cfg.min_lr=0", *TINY])
    assert outcome.code == 0, outcome.output
    tuned = torch.load(wd / "best.pth", weights_only=True)["model"]
    assert tuned.keys() == source.keys() and all(torch.equal(tuned[k], source[k]) for k in source)
    record = json.loads((wd / "result.json").read_text())
    assert record["load_from"] == {"path": str(pretrained.resolve()), "zoo": None, "trust": False,
                                   "sha256": hashlib.sha256(pretrained.read_bytes()).hexdigest()}


@pytest.mark.slow
def test_original_checkpoint_with_pickled_meters_needs_trust_then_loads(ave, tmp_path):
    root, pretrained = ave
    source = torch.load(pretrained, weights_only=True)["model"]
    checkpoint = tmp_path / "ave.pth.tar"
    state = original_layout(source)
    assert any(k.startswith("cls_head.") for k in state) and not any(k.startswith("heads.") for k in state)
    torch.save({"epoch": 3, "state_dict": state, "train_meter": Meter()}, checkpoint)
    options = ["--cfg-options", f"data_root={root}", *TINY, "train_cfg.lr=0", "train_cfg.min_lr=0"]
    refused = run_cli(["train", CONFIG, "--work-dir", str(tmp_path / "a"), *options, f"load_from={checkpoint}"])
    assert_clear_error(refused, str(checkpoint), "trust=True")
    wd = tmp_path / "b"
    outcome = run_cli(["train", CONFIG, "--work-dir", str(wd), *options,
                       f"load_from.path={checkpoint}", "load_from.trust=True"])
    assert outcome.code == 0, outcome.output
    tuned = torch.load(wd / "best.pth", weights_only=True)["model"]
    assert all(torch.equal(tuned[k], source[k]) for k in source)


def test_a_checkpoint_of_another_model_stops_before_training(ave, tmp_path):
    root, pretrained = ave
    outcome = run_cli(["train", CONFIG, "--work-dir", str(tmp_path / "wd"), "--cfg-options", f"data_root={root}",
                       f"load_from={pretrained}", *TINY, "model.d_model=32"])
    assert_clear_error(outcome, f"load_from {pretrained}", "shape mismatches")
    assert not (tmp_path / "wd" / "best.pth").exists()


@pytest.mark.parametrize("value", [3, {"path": "x.pth", "trusted": True}, {"trust": True}])
def test_a_malformed_load_from_is_named(value):
    with pytest.raises(Exception, match="load_from=.* is not valid"):
        load_from_spec(value)
