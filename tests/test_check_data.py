"""`tim-bench check-data` reports counts, and names every data problem at once with exit code 1."""
from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from bad_input import run_cli
from tim_bench.config import load_config
from tim_bench.runner.check import check_data
from tim_bench_plugins.perception_test.synthetic import make_perception
from tim_bench_registry import FEATURES, VideoFeatures

DIMS = ["features.visual.dim=8", "features.audio.dim=4"]
CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "perception_av.py")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_perception(tmp_path_factory.mktemp("perception"), videos=10, visual_dim=8, audio_dim=4)


def _config(root, **options):
    return load_config("configs/perception_av.py", {"data_root": str(root), "features.visual.dim": 8,
                                                    "features.audio.dim": 4, **options})


def test_clean_data_reports_counts_and_no_problem(data):
    report = check_data(_config(data))
    assert report.clean, report.problems
    text = "\n".join(report.lines)
    assert "PerceptionTest under" in text and "splits train, val" in text
    assert "split train:" in text and "split val:" in text and "windows of 20 s" in text
    assert "visual_action:" in text and "audio_sound: " in text and "features: visual 8/8 videos (8-d)" in text
    counts = report.class_counts["audio_sound"]
    assert list(counts.columns) == ["train", "val"] and len(counts) == 17
    train = pd.read_json(data / "all_train.json")
    assert counts["train"].sum() == sum(len(v["sound_segments"]) for v in train.to_dict().values())


def test_every_problem_is_named(tmp_path, data):
    root = tmp_path / "broken"
    make_perception(root, videos=10, visual_dim=8, audio_dim=4)
    videos = sorted(p.stem for p in (root / "visual" / "train").glob("*.npy"))
    (root / "visual" / "train" / f"{videos[0]}.npy").unlink()  # a missing feature file
    values = np.load(root / "audio" / "train" / f"{videos[1]}.npy")
    values[3, 0, 2] = np.nan
    np.save(root / "audio" / "train" / f"{videos[1]}.npy", values)  # NaN features
    intervals = pd.read_csv(root / "visual" / "intervals_train.csv")
    short = intervals.video_id == videos[2]
    intervals.loc[short, ["start_sec", "stop_sec"]] /= 3  # a time grid covering a third of its video
    intervals.to_csv(root / "visual" / "intervals_train.csv", index=False)

    report = check_data(_config(root, **{"windows.window_stride": 30.0}), splits=["train"])
    problems = "\n".join(report.problems)
    assert not report.clean and len(report.problems) == 5, problems
    assert f"train: the visual features of 1 of 8 videos cannot be used ({videos[0]})" in problems
    assert f"{videos[0]}.npy for video {videos[0]} does not exist" in problems
    assert f"the visual feature times of 1 videos do not cover the video within 1 s ({videos[2]} ([0.00," in problems
    assert f"1 videos hold NaN or inf audio features ({root / 'audio' / 'train' / videos[1]}.npy (video {videos[1]}" \
        in problems  # named by the file the feature plugin read (its source)
    assert f"1 videos have streams on different time grids; for example: Video {videos[2]}: feature" in problems
    assert "segments are queried by no window" in problems  # 20-s windows every 30 s leave gaps


def test_cli_exit_codes(tmp_path, data):
    """In-process (the console script's own behaviour is tested in test_cli_habits): 0 clean, 1 a problem."""
    clean = run_cli(["check-data", CONFIG, "--cfg-options", f"data_root={data}", *DIMS, "--per-class"])
    assert clean.code == 0 and "OK: no problems found" in clean.output and "class    train    val" in clean.output
    wrong_dim = run_cli(["check-data", CONFIG, "--cfg-options", f"data_root={data}", "features.visual.dim=16",
                         "features.audio.dim=4"])
    assert wrong_dim.code == 1
    assert "holds 8-d features but this stream is configured as 16-d" in wrong_dim.output
    missing = run_cli(["check-data", CONFIG, "--cfg-options", f"data_root={tmp_path / 'none'}"])
    assert missing.code == 1 and "cannot be opened: data_root" in missing.output


@FEATURES.register_module(force=True)
class LazyH5Features:
    """A third-party reader handing out lazy ``h5py.Dataset`` values, as the contract allows."""

    def __init__(self, data_root: str, file: str, dim: int) -> None:
        self.file, self.dim = h5py.File(Path(data_root) / file, "r"), dim

    def open(self, split: str, video_id: str) -> VideoFeatures:
        group = self.file[f"{split}/{video_id}"]
        return VideoFeatures(times=np.asarray(group["times"]), values=group["values"])


def _lazy_copy(data: Path, root: Path, nan_video: str | None = None) -> None:
    """The synthetic visual .npy features as one HDF5 file of lazy datasets."""
    shutil.copytree(data, root)
    with h5py.File(root / "visual.h5", "w") as f:
        for split in ("train", "val"):
            intervals = pd.read_csv(root / "visual" / f"intervals_{split}.csv")
            for video, rows in intervals.groupby("video_id", sort=False):
                values = np.load(root / "visual" / split / f"{video}.npy")
                if video == nan_video:
                    values[1, 0, 0] = np.nan
                f[f"{split}/{video}/values"] = values
                f[f"{split}/{video}/times"] = rows[["start_sec", "stop_sec"]].to_numpy()


def test_lazy_hdf5_values_are_checked_in_slices(tmp_path, data):
    options = {"features.visual": {"_delete_": True, "type": "LazyH5Features", "file": "visual.h5", "dim": 8}}
    _lazy_copy(data, tmp_path / "clean")
    report = check_data(_config(tmp_path / "clean", **options))
    assert report.clean, report.problems
    video = sorted(p.stem for p in (data / "visual" / "val").glob("*.npy"))[0]
    _lazy_copy(data, tmp_path / "nan", nan_video=video)
    report = check_data(_config(tmp_path / "nan", **options), splits=["val"])
    assert report.problems == [f"val: 1 videos hold NaN or inf visual features ({video}); re-extract them."]
