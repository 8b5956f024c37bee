"""`tim-bench from-tim-args` converts every command of the original TIM README.

The README's commands are read from shared/reference/original_recognition_README.md; its
``<channel-size-...>`` placeholders get each recipe's feature widths. tests/test_original_layout.py trains
converted commands on data that `make-synthetic --layout original` writes in the original's layout.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pandas as pd
import pytest
from mmengine.config import Config

from tim_bench.config import load_config
from tim_bench.original.from_tim_args import ConversionError, convert, render_config
from tim_bench.original.dataset import OriginalTIMAnnotations
from tim_bench_registry import DataError

README = Path(__file__).resolve().parents[2] / "shared" / "reference" / "original_recognition_README.md"
#: README command (in order) -> (name, visual dim, audio dim)
RECIPES = [("epic_av", 1024, 2304), ("perception_av", 1024, 2304), ("ave_vgg", 512, 128),
           ("ave_omnivore_asf", 1024, 2304)]
VISUAL_ONLY = ["--data_modality", "visual", "--model_modality", "visual"]  # the README's note under the EPIC command


def readme_commands() -> dict[str, list[str]]:
    """The five training commands: the README's four, plus EPIC visual-only from its note."""
    if not README.is_file():
        pytest.skip(f"{README} not found")
    text = README.read_text(encoding="utf-8")
    blocks = [b.replace("\\\n", " ") for b in re.findall(r"```\[bash\]\n(python scripts/run_net.py.*?)```", text, re.S)]
    assert len(blocks) == len(RECIPES)
    commands = {}
    for block, (name, visual, audio) in zip(blocks, RECIPES):
        argv = shlex.split(block.replace("<channel-size-of-visual-features>", str(visual))
                           .replace("<channel-size-of-audio-features>", str(audio)))
        commands[name] = argv
    commands["epic_visual"] = commands["epic_av"] + VISUAL_ONLY
    return commands


def variant(argv: list[str], mode: str, checkpoint: str = "/path/to/pretrained_model") -> list[str]:
    """The README's validate / extract variant: --train -> --MODE plus --pretrained_model."""
    return [f"--{mode}" if a == "--train" else a for a in argv] + ["--pretrained_model", checkpoint]


def with_flag(argv: list[str], flag: str, value: str) -> list[str]:
    """``argv`` with ``flag``'s value replaced (a flag given twice is refused)."""
    at = argv.index(flag)
    return [*argv[:at + 1], value, *argv[at + 2:]]


def as_config(conversion, argv: list[str], tmp_path: Path) -> Config:
    path = tmp_path / "converted.py"
    path.write_text(render_config(conversion, argv))
    return load_config(path)  # refuses any key tim-bench does not know


@pytest.mark.parametrize("name", ["epic_av", "epic_visual", "perception_av", "ave_vgg", "ave_omnivore_asf"])
def test_training_command_converts_to_a_valid_config(name, tmp_path):
    argv = readme_commands()[name]
    conversion = convert(argv, "cfg.py")
    cfg = as_config(conversion, argv, tmp_path)
    assert conversion.command == ["tim-bench", "run", "cfg.py", "--work-dir", "/path/to/output"]
    assert cfg.data_root == "/path/to" and cfg.work_dir == "/path/to/output"
    assert cfg.splits.to_dict() == {"train": "train", "val": "val", "test": None}
    assert cfg.train_cfg.batch_size == 64 and cfg.train_cfg.max_epochs == 100 and cfg.loss.label_smoothing == 0.2
    text = render_config(conversion, argv)
    assert "# Trusting pickles: trust_pickle=True" in text and "python scripts/run_net.py" in text
    features = cfg.features.to_dict()
    assert all(f["trust_pickle"] for f in features.values())
    datasets = cfg.dataset if isinstance(cfg.dataset, list) else [cfg.dataset]
    assert all(d["trust_pickle"] for d in datasets)
    expected = {
        "epic_av": dict(windows=(50, 0.2, 3), dropout=(0.5, 0.5), d_model=512, audio_weight=0.01, pool=False,
                        streams={"visual", "audio"}, datasets=["EPIC100", "EPICSounds"]),
        "epic_visual": dict(windows=(50, 0.2, 3), dropout=(0.5, 0.5), d_model=512, audio_weight=1.0, pool=False,
                            streams={"visual"}, datasets=["EPIC100"]),
        "perception_av": dict(windows=(50, 0.2, 2), dropout=(0.1, 0.1), d_model=512, audio_weight=1.0, pool=False,
                              streams={"visual", "audio"}, datasets=["OriginalTIMAnnotations"]),
        "ave_vgg": dict(windows=(10, 1.0, 1), dropout=(0.1, 0.1), d_model=256, audio_weight=0.1, pool=True,
                        streams={"visual", "audio"}, datasets=["OriginalTIMAnnotations"]),
        "ave_omnivore_asf": dict(windows=(25, 0.2, 2), dropout=(0.1, 0.5), d_model=256, audio_weight=1.0,
                                 pool=False, streams={"visual", "audio"}, datasets=["OriginalTIMAnnotations"]),
    }[name]
    w = cfg.windows
    assert (w.num_feats, w.feat_gap, w.feat_stride) == expected["windows"]
    assert (cfg.model.feat_dropout, cfg.model.seq_dropout) == expected["dropout"]
    assert cfg.model.d_model == expected["d_model"] and cfg.model.pool_features == expected["pool"]
    assert cfg.loss.stream_weights.audio == expected["audio_weight"]
    assert set(features) == expected["streams"] and [d["type"] for d in datasets] == expected["datasets"]
    if name.startswith("ave"):
        assert cfg.train_cfg.lr == 5e-4 and cfg.loss.lambda_drloc == 0.1 and cfg.loss.mixup_alpha == 0.5
        assert cfg.evaluator.type == "AVEAccuracy"
        # the original's AVE loader labels both streams from class_id
        assert cfg.dataset.tasks.to_dict() == {"visual": [["event", 29, "class_id"]],
                                               "audio": [["event", 29, "class_id"]]}
    if name == "perception_av":
        assert cfg.evaluator.type == "PerceptionMetrics"
        assert cfg.dataset.files.visual.to_dict() == {"train": "perception_test_action_train_annotations",
                                                      "val": "perception_test_action_validation_annotations"}
    if name == "epic_av":
        assert datasets[0]["num_actions"] == 3806 and cfg.evaluator.main_metric == "all_action_accuracy_at_1"
        assert features["visual"]["intervals"] == {"train": "epic_100_train_visual_feature_intervals",
                                                   "val": "epic_100_validation_visual_feature_intervals"}


@pytest.mark.parametrize("name", ["epic_av", "epic_visual", "perception_av", "ave_vgg", "ave_omnivore_asf"])
def test_validate_and_extract_variants_convert_to_test_and_predict(name, tmp_path):
    argv = readme_commands()[name]
    validate = convert(variant(argv, "validate"), "cfg.py")
    assert validate.command == ["tim-bench", "test", "cfg.py", "/path/to/pretrained_model", "--split", "val",
                                "--work-dir", "/path/to/output", "--trust-checkpoint"]
    cfg = as_config(validate, variant(argv, "validate"), tmp_path)
    assert cfg.splits.val == "val" and cfg.splits.train is None
    extract = convert(variant(argv, "extract_feats"), "cfg.py")
    val_pickle = argv[argv.index("--video_val_action_pickle") + 1]
    assert extract.command[:4] == ["tim-bench", "predict", "cfg.py", "/path/to/pretrained_model"]
    assert extract.command[-2:] == ["--original-dict",
                                    f"/path/to/output/features/{Path(val_pickle).name}_features.pkl"]
    assert any("pickle.load" in note for note in extract.notes)


def test_eval_split_follows_the_original_rule_on_the_pickle_name():
    argv = readme_commands()["ave_omnivore_asf"]
    for name, split in (("AVE_test_annotations.pkl", "test"), ("AVE_train_x.pkl", "train"),
                        ("AVE_validation.pkl", "val")):
        renamed = [f"/path/to/{name}" if a == "/path/to/AVE_validation_annotations" else a for a in argv]
        conversion = convert(variant(renamed, "extract_feats"))
        assert conversion.config["splits"]["val"] == split
        assert conversion.config["dataset"]["files"]["visual"] == {split: name}
        assert conversion.config["features"]["visual"]["intervals"] == {
            split: "AVE_validation_visual_feature_intervals"}


def test_flags_outside_the_recipe_map_to_their_config_keys(monkeypatch):
    monkeypatch.setattr("tim_bench.original.from_tim_args.available_cpus", lambda: 64)  # a 4-GPU node's CPUs
    argv = readme_commands()["ave_omnivore_asf"] + [
        "--num-gpus", "4", "-b", "128", "--workers", "8", "--enable_amp", "False", "--early_stop_period", "3",
        "--seed", "7", "--window_stride", "2", "--finetune_epochs", "30", "-p", "10", "--nhead", "4"]
    conversion = convert(argv, "cfg.py")
    cfg = conversion.config
    assert conversion.command[:4] == ["torchrun", "--nproc_per_node=4", "-m", "tim_bench.cli.main"]
    assert cfg["train_cfg"]["batch_size"] == 32 and cfg["train_cfg"]["num_workers"] == 2
    assert cfg["train_cfg"]["amp"] is False and cfg["train_cfg"]["grad_clip"] is None
    assert cfg["train_cfg"]["early_stop_patience"] == 4 and cfg["train_cfg"]["max_epochs"] == 30
    assert cfg["seed"] == 7 and cfg["windows"]["window_stride"] == 2.0 and cfg["model"]["nhead"] == 4
    assert any(note.startswith("--print-freq has no effect") for note in conversion.notes)


@pytest.mark.parametrize("extra, message", [
    (["--bogus_flag", "1"], "Unknown original TIM flags: --bogus_flag 1"),
    (["--enable_wandb_log"], "--enable_wandb_log"),
    (["--num_class", "5"], "--num_class"),
    (["--validate"], "Give exactly one of --train, --validate, --extract_feats"),
    (["--lr", "fast"], "invalid float value: 'fast'"),
    (["--dataset", "kinetics"], "invalid choice: 'kinetics' (choose from 'ave', 'epic', 'perception')"),
])
def test_unknown_and_unsupported_flags_are_named(extra, message):
    with pytest.raises(ConversionError, match=re.escape(message)):
        convert(readme_commands()["ave_vgg"] + extra)


def test_verb_and_noun_heads_on_ave_are_refused():
    with pytest.raises(ConversionError, match="--dataset ave with verb and noun heads"):
        convert(with_flag(readme_commands()["ave_vgg"], "--include_verb_noun", "True"))


def test_a_missing_input_flag_is_named():
    argv = readme_commands()["perception_av"]
    cut = argv.index("--audio_val_context_pickle")
    with pytest.raises(ConversionError, match="lacks --audio_val_context_pickle"):
        convert(argv[:cut] + argv[cut + 2:])


def test_original_layout_reader_needs_trust_for_pickles_and_reads_csv_without(tmp_path):
    table = pd.DataFrame({"narration_id": ["a", "b"], "video_id": ["v", "v"],
                          "start_timestamp": ["00:00:01.50", "00:00:04.00"],
                          "stop_timestamp": ["00:00:03.00", "00:00:05.25"], "action_class": [3, 1]})
    table.set_index("narration_id").to_pickle(tmp_path / "val.pkl")
    table.to_csv(tmp_path / "val.csv", index=False)
    pd.DataFrame({"video_id": ["v"], "duration": [8.0]}).to_csv(tmp_path / "info.csv", index=False)
    tasks = {"visual": [["event", 29, "action_class"]]}
    untrusted = OriginalTIMAnnotations(str(tmp_path), {"visual": {"val": "val.pkl"}}, "info.csv", tasks)
    with pytest.raises(DataError, match="val.pkl is a pickle, which can run code when loaded; set trust_pickle=True"):
        untrusted.load("val")
    for name, trust in (("val.pkl", True), ("val.csv", False)):
        ann = OriginalTIMAnnotations(str(tmp_path), {"visual": {"val": name}}, "info.csv", tasks, trust).load("val")
        assert ann.segments[["segment_id", "start", "stop", "visual_event"]].values.tolist() == [
            ["a", 1.5, 3.0, 3], ["b", 4.0, 5.25, 1]]
        assert ann.durations == {"v": 8.0}


def test_original_layout_reader_needs_the_tasks_of_its_streams(tmp_path):
    with pytest.raises(DataError, match=re.escape("has visual files but no visual tasks; add tasks=")):
        OriginalTIMAnnotations(str(tmp_path), {"visual": {"val": "val.csv"}}, "info.csv")


def test_seed_minus_one_draws_a_seed_and_says_so():
    conversion = convert(readme_commands()["ave_vgg"] + ["--seed", "-1"])
    assert 0 <= conversion.config["seed"] < 2**32
    assert any(note.startswith("--seed -1: the seed below was drawn at conversion") for note in conversion.notes)


def test_train_with_pretrained_model_fine_tunes_through_load_from(tmp_path):
    conversion = convert(readme_commands()["ave_vgg"] + ["--pretrained_model", str(tmp_path / "ave.pth.tar")])
    assert conversion.mode == "train" and conversion.command[:2] == ["tim-bench", "run"]
    assert conversion.config["load_from"] == {"path": str(tmp_path / "ave.pth.tar"), "trust": True}
    assert any("--pretrained_model with --train" in note for note in conversion.notes)
