"""The released TIM checkpoints load into the models tim-bench's configs build, and run through test / predict.

Each ``.pth.tar`` is made from a reference manifest (shared/reference/manifest_*.tsv: the original
state dict's keys and shapes) with random values, saved as the original saves it
(``{"epoch": ..., "state_dict": ...}``). A config whose dataset needs files on disk gets its model
built directly from the config's model section and the tasks its dataset would report.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import tim_bench
from test_from_tim_args import readme_commands, variant
from tim_bench.original.layout import data_flags
from tim_bench.config import load_config
from tim_bench.original.from_tim_args import convert, heads_of_args, parse
from tim_bench.original.convert import load_weights
from tim_bench.runner.checkpoint import state_dict_of
from tim_bench.safe_load import load_checkpoint
from tim_bench_registry import DATASETS, MODELS, build

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
#: original head -> tim-bench head, per recipe: the role mapping the converter must get right
HEADS = {
    "epic_av": {"fc_visual_verb": "visual_verb", "fc_visual_noun": "visual_noun", "fc_visual_action": "visual_action",
                "fc_audio_action": "audio_interaction"},
    "epic_visual": {"fc_visual_verb": "visual_verb", "fc_visual_noun": "visual_noun",
                    "fc_visual_action": "visual_action"},
    "perception_av": {"fc_visual_action": "visual_action", "fc_audio_action": "audio_sound"},
    "ave_vgg": {"fc_visual_action": "visual_event", "fc_audio_action": "audio_event"},
    "ave_omnivore_asf": {"fc_visual_action": "visual_event", "fc_audio_action": "audio_event"},
}


def released_checkpoint(name: str, path: Path) -> dict[str, torch.Tensor]:
    """Write a .pth.tar in the original's layout from manifest ``name``; return its state dict."""
    manifest = REFERENCE / f"manifest_{name}.tsv"
    if not manifest.is_file():
        pytest.skip(f"{manifest} not found")
    rows = [line.split("\t") for line in manifest.read_text().splitlines()[1:] if line.strip()]
    generator = torch.Generator().manual_seed(0)
    state = {key: torch.randn(tuple(int(d) for d in shape.split("x")), generator=generator) for key, shape, _ in rows}
    torch.save({"epoch": 50, "state_dict": state, "best_acc1": {"visual": 40.0, "audio": 30.0}}, path)
    return state


def check_loads(model: torch.nn.Module, name: str, path: Path, state: dict[str, torch.Tensor]) -> None:
    load_weights(model, state_dict_of(load_checkpoint(path), path), str(path))
    own = model.state_dict()
    for original, task in HEADS[name].items():
        assert torch.equal(own[f"heads.{task}.fc.weight"], state[f"cls_head.{original}.weight"])
    assert torch.equal(own["time_mlp.6.weight"], state["time_mlp.6.weight"])


@pytest.mark.slow  # builds each full-size released model
@pytest.mark.parametrize("name", sorted(HEADS))
def test_checkpoint_loads_into_the_from_tim_args_config_of_its_readme_command(name, tmp_path):
    argv = readme_commands()[name]
    config = convert(variant(argv, "validate"), "cfg.py").config
    args, _ = parse(argv)
    model = build(MODELS, config["model"], input_dims={s: f["dim"] for s, f in config["features"].items()},
                  tasks=heads_of_args(args))
    path = tmp_path / f"{name}.pth.tar"
    check_loads(model, name, path, released_checkpoint(name, path))


@pytest.mark.slow  # builds the full-size released model
def test_perception_checkpoint_loads_into_configs_perception_av(tmp_path):
    cfg = load_config("configs/perception_av.py")
    tasks = build(DATASETS, cfg.dataset, data_root=str(tmp_path)).tasks()  # tasks need no annotation file
    model = build(MODELS, cfg.model, input_dims={s: f.dim for s, f in cfg.features.items()}, tasks=tasks)
    path = tmp_path / "percetion_test_action_sound.pth.tar"
    check_loads(model, "perception_av", path, released_checkpoint("perception_av", path))


@pytest.mark.parametrize("name, dims", [("ave_vgg", {"visual": 512, "audio": 128}),
                                        ("ave_omnivore_asf", {"visual": 1024, "audio": 2304})])
def test_ave_checkpoints_load_into_the_shipped_ave_configs(name, dims, tmp_path, shared_data):
    cfg = load_config(f"configs/{name}.py")
    tasks = build(DATASETS, cfg.dataset, data_root=str(shared_data / "ave")).tasks()
    model = build(MODELS, cfg.model, input_dims=dims, tasks=tasks)
    path = tmp_path / "ave.pth.tar"
    check_loads(model, name, path, released_checkpoint(name, path))


@pytest.mark.slow
def test_ave_checkpoint_runs_through_the_converted_validate_and_extract_commands(tmp_path):
    root, out = tmp_path / "AVE", tmp_path / "output"
    tim_bench("make-synthetic", "ave", str(root), "--layout", "original", "--videos", "28", "--visual-dim", "512",
              "--audio-dim", "128")
    checkpoint = tmp_path / "ave.pth.tar"
    released_checkpoint("ave_vgg", checkpoint)
    flags = {**dict(zip(*[iter(data_flags("ave", root))] * 2)), "--output_dir": str(out),
             "--visual_input_dim": "512", "--audio_input_dim": "128"}
    argv: list[str] = []
    for token in readme_commands()["ave_vgg"]:  # the README's command, pointed at the generated files
        argv.append(flags[argv[-1]] if argv and argv[-1] in flags else token)
    for mode in ("validate", "extract_feats"):
        config = tmp_path / f"ave_{mode}.py"
        command = tim_bench("from-tim-args", "--out", str(config), "--",
                            *variant(argv, mode, str(checkpoint))).stdout.splitlines()[-1]
        assert command.startswith("run: tim-bench ")
        proc = tim_bench(*command.split()[2:], "--cfg-options", "test_cfg.batch_size=16")
        assert "acc_fused" in proc.stdout if mode == "validate" else "predictions_val.npz" in proc.stdout
    with open(out / "features" / "AVE_validation_annotations_features.pkl", "rb") as f:
        exported = pickle.load(f)  # a plain pickle of numpy arrays, as the original writes
    assert set(exported) == {"action", "audio", "v_narration_ids", "a_narration_ids"}
    val_ids = pd.read_pickle(flags["--video_val_action_pickle"]).index.tolist()
    n = len(val_ids)
    assert exported["action"].shape == (n, 29) and exported["audio"].shape == (n, 29)
    assert sorted(exported["v_narration_ids"].tolist()) == sorted(f"v_{i}" for i in val_ids)
    assert np.allclose(exported["action"].sum(1), np.ones(n), atol=1e-5)
