"""`make-synthetic --layout original` writes the original TIM's pickles and .npy files, holding the same data as the
official layout, and a converted README command trains on them end to end.

Every step goes through the real `tim-bench` entry point (in-process, tests/bad_input.run_cli).
"""
from __future__ import annotations

import json
import pickle
import re
import shlex
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from bad_input import assert_clear_error, run_cli
from helpers import TINY_MODEL
from test_from_tim_args import readme_commands
from tim_bench.original.layout import data_flags, layout_of, timestamps
from tim_bench_registry import UnknownPluginError

SMALL = ["--visual-dim", "8", "--audio-dim", "6"]
#: dataset -> (make-synthetic arguments, README recipe, the original's label columns per stream)
CASES = {
    "ave": (["--videos", "40", *SMALL], "ave_vgg", {"visual": {"class_id"}, "audio": {"class_id"}}),
    "epic": (["--videos", "3", *SMALL], "epic_av",
             {"visual": {"verb_class", "noun_class", "action_class"}, "audio": {"class_id"}}),
    "perception": (["--videos", "4", *SMALL], "perception_av", {"visual": {"action_class"}, "audio": {"class_id"}}),
}
INTERVAL_COLUMNS = ["video_id", "start_sec", "stop_sec", "narration_sec"]


def make(kind: str, root: Path) -> str:
    outcome = run_cli(["make-synthetic", kind, str(root), "--layout", "original", *CASES[kind][0]])
    assert outcome.code == 0, outcome.output
    return outcome.output


def plain_pickle(path: Path) -> pd.DataFrame:
    """Read ``path`` with plain pickle.load and check pd.read_pickle gives the same table."""
    with open(path, "rb") as f:
        table = pickle.load(f)
    assert isinstance(table, pd.DataFrame), path
    pd.testing.assert_frame_equal(table, pd.read_pickle(path))
    return table


def check_layout(kind: str, root: Path) -> None:
    """Every file the original reads is there, readable by plain pickle / np.load, with the original's columns,
    and holds the official layout's features."""
    layout, labels = layout_of(kind), CASES[kind][2]
    flags = dict(zip(*[iter(data_flags(kind, root))] * 2))
    info = plain_pickle(Path(flags["--video_info_pickle"]))
    assert info.index.name == "video_id" and list(info.columns) == ["duration"] and (info["duration"] > 0).all()
    for stream, prefix in (("visual", "video"), ("audio", "audio")):
        for which, split in (("train", "train"), ("val", "val")):
            ann = plain_pickle(Path(flags[f"--{prefix}_{which}_action_pickle"]))
            assert ann.index.name == "narration_id" and ann.index.is_unique
            assert {"video_id", "start_timestamp", "stop_timestamp"} | labels[stream] <= set(ann.columns)
            assert ann["start_timestamp"].str.fullmatch(r"\d\d:\d\d:\d\d\.\d{2,6}").all()
            assert all(ann[c].dtype == np.int64 for c in labels[stream])
            assert ann["video_id"].dtype == object and ann.index.dtype == object  # plain str, any pandas reads it
            times = plain_pickle(Path(flags[f"--{prefix}_{which}_context_pickle"]))
            assert list(times.columns) == INTERVAL_COLUMNS
            assert set(ann["video_id"]) <= set(times["video_id"]) and set(times["video_id"]) <= set(info.index)
            for video, rows in times.groupby("video_id"):
                assert rows["start_sec"].is_monotonic_increasing
                values = np.load(Path(flags[f"--{prefix}_data_path"]) / split / f"{video}.npy")
                assert values.dtype == np.float32 and values.shape[0] == len(rows) and values.ndim in (3, 5)
    # the same planted data as the official layout
    official = root / "official"
    video = sorted(plain_pickle(Path(flags["--video_val_context_pickle"]))["video_id"].unique())[0]
    converted = np.load(root / layout.streams["visual"].features / "val" / f"{video}.npy")
    if kind == "ave":
        with h5py.File(official / "visual_feature.h5") as f:
            np.testing.assert_array_equal(converted[:, 0], f["avadataset"][int(video.rsplit("#", 1)[1])])
        ann = plain_pickle(Path(flags["--video_val_action_pickle"]))
        with h5py.File(official / "labels.h5") as f:
            seconds = ann[ann["video_id"] == video]["class_id"].to_numpy()
            np.testing.assert_array_equal(seconds, f["avadataset"][int(video.rsplit("#", 1)[1])].argmax(-1))
    else:
        folder = {"epic": "features/visual", "perception": "visual"}[kind]
        np.testing.assert_array_equal(converted, np.load(official / folder / "val" / f"{video}.npy"))


def printed_commands(printed: str) -> tuple[list[str], list[str]]:
    """The original ``run_net.py`` flags and the ``from-tim-args`` command line make-synthetic printed."""
    original = next(line for line in printed.splitlines() if line.startswith("  python scripts/run_net.py "))
    convert = next(line for line in printed.splitlines() if line.startswith("  tim-bench from-tim-args "))
    return shlex.split(original)[2:], shlex.split(convert)[1:]


def flag_values(argv: list[str]) -> dict[str, str]:
    """{flag: value} of a run_net.py command line (``--train`` -> ""; a leading ``python scripts/run_net.py`` is
    dropped)."""
    out: dict[str, str] = {}
    for token in argv:
        if token.startswith("--"):
            out[token] = ""
        elif out:
            out[list(out)[-1]] = token
    return out


@pytest.mark.parametrize("kind", ["ave", "epic", "perception"])
def test_printed_command_is_the_readme_recipe_on_the_generated_files(kind, tmp_path):
    """make-synthetic prints the original README's training command for its --dataset, complete: the README's
    flags and values, every path pointing at a generated file, the input widths of the generated features."""
    flags = flag_values(printed_commands(make(kind, tmp_path / "data"))[0])
    readme = flag_values(readme_commands()[CASES[kind][1]])
    assert set(flags) == set(readme) | {"--dataset"}
    paths = {f for f, v in readme.items() if v.startswith("/path/to")} - {"--output_dir"}
    assert all(Path(flags[f]).exists() for f in paths)
    assert (flags["--visual_input_dim"], flags["--audio_input_dim"]) == ("8", "6")  # the make-synthetic widths
    fixed = set(readme) - paths - {"--output_dir", "--visual_input_dim", "--audio_input_dim"}
    assert {f: flags[f] for f in fixed} == {f: readme[f] for f in fixed}


def without(argv: list[str], *flags: str) -> list[str]:
    """``argv`` without ``flags`` and their values."""
    drop = {i + k for i, token in enumerate(argv) if token in flags for k in (0, 1)}
    return [token for i, token in enumerate(argv) if i not in drop]


def test_from_tim_args_refuses_widths_and_pooling_that_do_not_fit_the_features(tmp_path):
    """The original's default widths (1024, 2304) and no --apply_feature_pooling on AVE's VGG maps: refused at
    conversion, naming the flags that fit the files (the config would otherwise fail in run)."""
    original, _ = printed_commands(make("ave", tmp_path / "ave"))
    argv = without(original, "--visual_input_dim", "--audio_input_dim", "--apply_feature_pooling")
    outcome = run_cli(["from-tim-args", "--out", str(tmp_path / "ave.py"), "--", *argv])
    assert_clear_error(outcome, "--visual_input_dim 8", "--audio_input_dim 6", "--apply_feature_pooling True",
                       "AVE_visual_features", code=2)
    original, _ = printed_commands(make("epic", tmp_path / "epic"))
    outcome = run_cli(["from-tim-args", "--out", str(tmp_path / "epic.py"), "--", *original,
                       "--apply_feature_pooling", "True"])
    assert_clear_error(outcome, "--apply_feature_pooling True", "[T, A, 7, 7, D]", "epic_visual_features", code=2)
    assert not (tmp_path / "ave.py").exists() and not (tmp_path / "epic.py").exists()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ave", "epic"])
def test_original_layout_converts_from_tim_args_and_runs(kind, tmp_path, monkeypatch):
    """The route a user follows: make-synthetic --layout original, the from-tim-args command it prints, the run
    command that prints, one epoch."""
    monkeypatch.chdir(tmp_path)  # the printed commands name their config and output folder relative to here
    root = tmp_path / "data"
    printed = make(kind, root)
    check_layout(kind, root)
    original, convert = printed_commands(printed)
    out = tmp_path / flag_values(original)["--output_dir"]
    outcome = run_cli(convert)
    assert outcome.code == 0, outcome.output
    command = outcome.output.splitlines()[-1]
    assert command == f"run: tim-bench run {kind}_original.py --work-dir {out.relative_to(tmp_path)}"
    outcome = run_cli([*shlex.split(command)[2:], "--results-dir", str(tmp_path / "results"),
                       "--cfg-options", *TINY_MODEL, "train_cfg.max_epochs=1", "train_cfg.num_workers=0"])
    assert outcome.code == 0, outcome.output
    result = json.loads((out / "result.json").read_text())
    assert result["split"] == "val" and result["epochs_trained"] == 1 and result["synthetic_data"] is True
    assert result["data_root"] == str(root)
    if kind == "ave":
        assert result["dataset"] == "OriginalTIMAnnotations"
        assert set(result["metrics"]) == {"acc_visual", "acc_audio", "acc_fused"}
        best = torch.load(out / "best.pth", weights_only=True)
        assert "pool.affine_video.weight" in best["model"]  # AVGA pooling, as --apply_feature_pooling True asks
    else:
        assert result["dataset"] == "EPIC100+EPICSounds"
        assert {"all_action_accuracy_at_1", "tim_action_head_top1", "all_interaction_accuracy_at_1"} <= \
            set(result["metrics"])
        # a stream's best needs a validation value above 0, as the original's meters (bests start at 0)
        epoch_1 = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])["val"]
        selections = {"visual": "tim_action_head_top1", "visual_mt": "tim_verb_noun_top1",
                      "audio": "all_interaction_accuracy_at_1"}
        assert set(result["stream_best"]) == {name for name, metric in selections.items() if epoch_1[metric] > 0}


def test_perception_original_layout_holds_the_official_data(tmp_path):
    make("perception", tmp_path / "data")
    check_layout("perception", tmp_path / "data")


def test_default_layout_stays_official(tmp_path):
    outcome = run_cli(["make-synthetic", "perception", str(tmp_path), *CASES["perception"][0]])
    assert outcome.code == 0, outcome.output
    assert (tmp_path / "all_train.json").is_file() and not list(tmp_path.glob("*.pkl"))


def test_omnivore_asf_with_the_original_layout_is_refused(tmp_path):
    outcome = run_cli(["make-synthetic", "ave", str(tmp_path), "--layout", "original", "--omnivore-asf"])
    assert_clear_error(outcome, "--layout original", "--omnivore-asf", code=2)
    assert not tmp_path.joinpath("official").exists()


def test_a_generator_without_an_original_layout_names_the_ones_there_are():
    with pytest.raises(UnknownPluginError, match=re.escape("'mine'; it converts ave, epic, perception")):
        layout_of("mine")


def test_timestamps_keep_every_decimal_the_values_need():
    assert timestamps(np.array([0.0, 61.5, 3600.25])) == ["00:00:00.00", "00:01:01.50", "01:00:00.25"]
    assert timestamps(np.array([1.513, 2.0])) == ["00:00:01.513", "00:00:02.000"]
    assert timestamps(np.array([0.000001])) == ["00:00:00.000001"]
