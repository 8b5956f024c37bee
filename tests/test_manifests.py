"""Every released recipe's original state dict (reference manifests) loads into the model with no stray key."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tim_bench.original.convert import CheckpointMismatchError, load_weights
from tim_bench.model.original_args import tim_from_original_kwargs
from tim_bench.runner.checkpoint import save_checkpoint, state_dict_of
from tim_bench.safe_load import UntrustedCheckpointError, load_checkpoint
from tim_bench_registry import TimBenchError

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
BASE = dict(d_model=512, nhead=8, num_layers=4, feedforward_scale=4, visual_input_dim=1024, audio_input_dim=2304)
RECIPES = {  # reference/README.md §1, manifest table
    "epic_av": dict(num_class=([97, 300, 3806], 44), include_verb_noun=True),
    "epic_visual": dict(num_class=([97, 300, 3806], 44), include_verb_noun=True, input_modality="visual",
                        data_modality="visual"),
    "perception_av": dict(num_class=(63, 17), include_verb_noun=False),
    "ave_vgg": dict(num_class=(29, 29), include_verb_noun=False, visual_input_dim=512, audio_input_dim=128,
                    d_model=256, pool_features=True, num_feats=10),
    "ave_omnivore_asf": dict(num_class=(29, 29), include_verb_noun=False, d_model=256, num_feats=25),
}


def manifest(name: str) -> list[tuple[str, tuple[int, ...]]]:
    path = REFERENCE / f"manifest_{name}.tsv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    rows = [line.split("\t") for line in path.read_text().splitlines()[1:] if line.strip()]
    return [(key, tuple(int(d) for d in shape.split("x"))) for key, shape, _ in rows]


@pytest.mark.slow  # builds each full-size released model
@pytest.mark.parametrize("name", sorted(RECIPES))
def test_released_layout_loads_without_missing_or_unexpected_keys(name, tmp_path):
    entries = manifest(name)
    model = tim_from_original_kwargs({**BASE, **RECIPES[name]})
    assert sum(p.numel() for p in model.parameters()) == sum(torch.Size(s).numel() for _, s in entries)
    state = {key: torch.randn(shape) for key, shape in entries}
    path = tmp_path / f"{name}.pth.tar"
    save_checkpoint(path, {"epoch": 10, "state_dict": {f"module.{k}": v for k, v in state.items()},
                           "best_acc1": {"visual": 1.0}})
    load_weights(model, state_dict_of(load_checkpoint(path), path), str(path))
    own = model.state_dict()
    assert torch.equal(own["time_mlp.0.weight"], state["time_mlp.0.weight"])
    assert torch.equal(own["encoder.layers.3.self_attn.in_proj_weight"],
                       state["transformer_encoder.layers.3.self_attn.in_proj_weight"])


def test_checkpoint_from_another_recipe_names_the_disagreeing_keys():
    entries = manifest("perception_av")
    model = tim_from_original_kwargs({**BASE, **RECIPES["epic_av"]})
    with pytest.raises(CheckpointMismatchError) as err:
        load_weights(model, {k: torch.zeros(s) for k, s in entries}, "perception.pth.tar")
    message = str(err.value)
    assert "perception.pth.tar" in message and "missing" in message and "heads.visual_verb.fc.weight" in message
    assert "shape mismatches" in message and "(63, 1024) vs model (3806, 1024)" in message


class Meter:
    """Stands in for the original's pickled meter objects."""

    def __init__(self) -> None:
        self.history = [1.0, 2.0]


def test_checkpoint_with_pickled_objects_needs_explicit_trust(tmp_path):
    path = tmp_path / "original.pth.tar"
    torch.save({"epoch": 3, "state_dict": {"time_mlp.0.weight": torch.zeros(2, 2)}, "train_meter": Meter()}, path)
    with pytest.raises(UntrustedCheckpointError, match="--trust-checkpoint"):
        load_checkpoint(path)
    assert load_checkpoint(path, trust=True)["epoch"] == 3
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(path.read_bytes()[:200])
    with pytest.raises(TimBenchError, match="not a readable torch checkpoint"):
        load_checkpoint(truncated)
