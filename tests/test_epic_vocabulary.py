"""The released EPIC checkpoints (3806 actions, numbered by the original's own mapping) load into the shipped EPIC
configs once ``action_vocabulary`` names the original's mapping file; without it, the error says so.

The state dicts are built from the reference manifests (shared/reference/manifest_epic_*.tsv) with random values;
the 2048-d recipe (Omnivore + VideoMAE) differs only in ``feature_encoding.visual_embedder.1.weight``.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tim_bench.config import load_config
from tim_bench.data.joint import JointDataset
from tim_bench.original.convert import CheckpointMismatchError, load_weights
from tim_bench_plugins.epic.epic_kitchens import EPIC100
from tim_bench_registry import DATASETS, MODELS, DataError, build

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
CONFIGS = {"epic_av": ("epic_av", 1024), "epic_visual": ("epic_visual", 1024),
           "epic_av_omnivore_videomae": ("epic_av", 2048)}


def manifest_state(name: str, visual_dim: int) -> dict[str, torch.Tensor]:
    """A random state dict with the released layout of manifest ``name`` (visual input width ``visual_dim``)."""
    path = REFERENCE / f"manifest_{name}.tsv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    rows = [line.split("\t") for line in path.read_text().splitlines()[1:] if line.strip()]
    shapes = {key: [int(d) for d in shape.split("x")] for key, shape, _ in rows}
    shapes["feature_encoding.visual_embedder.1.weight"][1] = visual_dim
    generator = torch.Generator().manual_seed(0)
    return {key: torch.randn(shape, generator=generator) for key, shape in shapes.items()}


def write_mapping(root: Path, count: int = 3806) -> Path:
    """An original-style action table (verb_class, noun_class, action_class) of ``count`` distinct pairs."""
    folder = root / "epic-kitchens-100"
    folder.mkdir(parents=True, exist_ok=True)
    pairs = [(a % 97, (a * 7) % 300) for a in range(count)]
    assert len(set(pairs)) == count
    pd.DataFrame({"narration_id": [f"P01_01_{a}" for a in range(count)], "verb_class": [p[0] for p in pairs],
                  "noun_class": [p[1] for p in pairs], "action_class": range(count)}).to_csv(
        folder / "EPIC_100_train_actions.csv", index=False)
    return folder / "EPIC_100_train_actions.csv"


def model_of(config: str, root: Path, options: dict) -> torch.nn.Module:
    cfg = load_config(f"configs/{config}.py", options)
    parts = cfg.dataset if isinstance(cfg.dataset, list) else [cfg.dataset]
    plugins = [build(DATASETS, d, data_root=str(root)) for d in parts]
    tasks = JointDataset(plugins, [d["type"] for d in parts]).tasks()
    return build(MODELS, cfg.model, input_dims={s: f.dim for s, f in cfg.features.items()}, tasks=tasks)


def vocabulary_options(config: str) -> dict:
    prefix = "dataset." if config == "epic_visual" else "dataset.0."
    return {prefix + "action_vocabulary": "EPIC_100_train_actions.csv", prefix + "num_actions": 3806}


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_released_epic_state_dict_loads_into_the_shipped_config_with_the_original_mapping(config, tmp_path):
    manifest, visual_dim = CONFIGS[config]
    write_mapping(tmp_path)
    model = model_of(config, tmp_path, vocabulary_options(config))
    state = manifest_state(manifest, visual_dim)
    load_weights(model, state, f"{manifest}.pth.tar")  # strict: no missing, unexpected or mis-shaped key
    own = model.state_dict()
    assert torch.equal(own["heads.visual_action.fc.weight"], state["cls_head.fc_visual_action.weight"])
    assert own["embedders.visual.1.weight"].shape == (512, visual_dim)


def test_without_the_mapping_the_error_names_the_action_vocabulary_option(tmp_path):
    root = tmp_path / "data"
    folder = root / "epic-kitchens-100"
    folder.mkdir(parents=True)
    pd.DataFrame({"narration_id": ["P01_01_0", "P01_01_1"], "video_id": ["P01_01"] * 2,
                  "start_timestamp": ["00:00:01.00", "00:00:03.00"], "stop_timestamp": ["00:00:02.00", "00:00:04.00"],
                  "verb_class": [0, 1], "noun_class": [2, 3]}).to_csv(folder / "EPIC_100_train.csv", index=False)
    model = model_of("epic_visual", root, {})
    with pytest.raises(CheckpointMismatchError) as err:
        load_weights(model, manifest_state("epic_visual", 1024), "epic_visual_only.pth.tar")
    message = str(err.value)
    assert "epic_visual_only.pth.tar" in message and "(3806, 1024) vs model (2, 1024)" in message
    assert "action_vocabulary" in message and "num_actions=3806" in message


def test_omnivore_action_list_maps_keys_to_ids_and_labels_splits_without_action_class(tmp_path, shared_data):
    shared_epic = shared_data / "epic-kitchens-100"
    folder = tmp_path / "epic-kitchens-100"
    folder.mkdir()
    for name in ("EPIC_100_verb_classes.csv", "EPIC_100_noun_classes.csv", "EPIC_100_video_info.csv"):
        (folder / name).write_bytes((shared_epic / name).read_bytes())
    (folder / "actions.csv").write_text("take,plate\nput,plate\nwash,spoon\n")  # Omnivore: 'verb_key,noun_key'
    val = pd.read_csv(shared_epic / "EPIC_100_validation.csv").head(40)
    val.to_csv(folder / "val.csv", index=False)
    dataset = EPIC100(str(tmp_path), split_files={"val": "val.csv", "train": None, "test": None},
                      action_vocabulary="actions.csv", num_actions=3806)
    assert dataset.vocabulary == [(0, 2), (1, 2), (2, 1)]  # take 0, put 1, wash 2; plate 2, spoon 1
    assert [t.num_classes for t in dataset.tasks()] == [97, 300, 3806]
    segments = dataset.load("val").segments
    pairs = list(zip(segments["visual_verb"], segments["visual_noun"]))
    expected = [{(0, 2): 0, (1, 2): 1, (2, 1): 2}.get(p, -1) for p in pairs]
    assert segments["visual_action"].tolist() == expected


@pytest.mark.parametrize("lines, message", [
    ("take,plate\nflibble,plate\n", "line 2 'flibble,plate' is not a 'verb_key,noun_key' pair"),
    (None, "defines no action"),
])
def test_a_bad_mapping_file_is_named(lines, message, tmp_path):
    folder = tmp_path / "epic-kitchens-100"
    folder.mkdir()
    if lines is None:
        pd.DataFrame(columns=["narration_id", "verb_class", "noun_class", "action_class"]).to_csv(
            folder / "actions.csv", index=False)
        message = f"{folder / 'actions.csv'} defines no action"
    else:
        (folder / "actions.csv").write_text(lines)
        message = f"{folder / 'actions.csv'} {message}"
        for name, keys in (("EPIC_100_verb_classes.csv", ["take"] + [f"v{i}" for i in range(96)]),
                           ("EPIC_100_noun_classes.csv", ["plate"] + [f"n{i}" for i in range(299)])):
            pd.DataFrame({"id": range(len(keys)), "key": keys}).to_csv(folder / name, index=False)
    with pytest.raises(DataError, match=re.escape(message)):
        EPIC100(str(tmp_path), action_vocabulary="actions.csv")


def test_two_mapping_files_that_disagree_are_refused(tmp_path):
    path = write_mapping(tmp_path, 4)
    other = path.with_name("val_actions.csv")
    table = pd.read_csv(path)
    table["noun_class"] = np.roll(table["noun_class"].to_numpy(), 1)
    table.to_csv(other, index=False)
    with pytest.raises(DataError, match="maps action 0 to .* but an earlier action_vocabulary file maps it to"):
        EPIC100(str(tmp_path), action_vocabulary=[path.name, other.name])
