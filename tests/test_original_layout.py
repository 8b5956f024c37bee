"""`make-synthetic --layout original` writes the original TIM's pickles and .npy files, holding the same data as the
official layout, and a converted README command trains on them end to end.

Every step goes through the real `tim-bench` entry point (in-process, tests/bad_input.run_cli).
"""
from __future__ import annotations

import json
import pickle
import re
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


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ave", "epic"])
def test_original_layout_converts_from_tim_args_and_runs(kind, tmp_path):
    root, out = tmp_path / "data", tmp_path / "output"
    printed = make(kind, root)
    assert "--video_info_pickle" in printed  # the run_net.py data flags, ready to paste
    check_layout(kind, root)
    flags = {**dict(zip(*[iter(data_flags(kind, root))] * 2)), "--output_dir": str(out), "--visual_input_dim": "8",
             "--audio_input_dim": "6"}
    argv: list[str] = []
    for token in readme_commands()[CASES[kind][1]]:
        argv.append(flags[argv[-1]] if argv and argv[-1] in flags else token)
    assert not [t for t in argv if t.startswith("/path/to")]
    config = tmp_path / f"{kind}.py"
    outcome = run_cli(["from-tim-args", "--out", str(config), "--", *argv])
    assert outcome.code == 0, outcome.output
    assert f"run: tim-bench run {config} --work-dir {out}" in outcome.output
    outcome = run_cli(["run", str(config), "--work-dir", str(out), "--results-dir", str(tmp_path / "results"),
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
