"""Since contract 1.2 the engine, not the plugin, checks the data rules on every split and video it reads, so the
retired ``validate``/``check_disjoint`` may do nothing: a third-party plugin that checks nothing (or still calls the
retired methods) and returns bad data gets the same clear sentence from `run` (exit 2, before training) and
`check-data` (a problem, exit 1), never a traceback and never a run on it."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bad_input import assert_clear_error, run_cli
from helpers import TINY_MODEL, tim_bench

PLUGIN = '''
"""A third-party dataset and feature plugin that read what they are given and check nothing themselves."""
from pathlib import Path

import numpy as np
import pandas as pd
from tim_bench_registry import DATASETS, FEATURES, METRICS, SplitAnnotations, Task, VideoFeatures

TIM_BENCH_CONTRACT = ">=1.1,<2"


@DATASETS.register_module()
class LaxCSV:
    def __init__(self, data_root, named=False, validates=False, fails_on=None):
        self.root, self.named, self.validates, self.fails_on = Path(data_root), named, validates, fails_on

    def splits(self):
        return ("train", "val")

    def tasks(self):
        return (Task("visual", "event", 3), Task("audio", "event", 3))

    def load(self, split):
        if split == self.fails_on:  # a reader bug, not a DataError
            raise KeyError("label_column")
        path = self.root / f"{split}.csv"
        table = pd.read_csv(path)
        visual = table.assign(stream="visual", visual_event=table.label, audio_event=-1)
        audio = table.assign(stream="audio", visual_event=-1, audio_event=table.label)
        segments = pd.concat([visual, audio], ignore_index=True).drop(columns=["label", "duration"])
        durations = dict(zip(table.video_id, table.duration))
        if not self.named:
            annotations = SplitAnnotations(segments, durations, self.tasks())
        else:
            annotations = SplitAnnotations(segments, durations, self.tasks(), source=str(path))
        if self.validates:  # what a contract-1.1 plugin did: retired, it only warns now
            annotations.validate(str(path), training=split == "train")
        return annotations


@FEATURES.register_module()
class LaxFeatures:
    def __init__(self, data_root, dim=4, named=False, fails_on=None):
        self.root, self.dim, self.named, self.fails_on = Path(data_root), dim, named, fails_on

    def open(self, split, video_id):
        if video_id == self.fails_on:  # a reader bug, not a DataError
            raise RuntimeError("the reader hit a bug")
        folder = self.root / "feats" / split
        path = folder / f"{video_id}.npy"
        return VideoFeatures(np.load(folder / f"{video_id}.times.npy"), np.load(path),
                             source=str(path) if self.named else "")


@METRICS.register_module()
class NoMainMetric:  # breaks the Metric Protocol only when built: no main_metric
    def __call__(self, predictions, annotations):
        return {"top1": 0.0}
'''

CONFIG = '''
_base_ = ["{configs}/_base_/default_runtime.py", "{configs}/_base_/tim_model.py"]
custom_imports = dict(imports=["lax_tim_plugin"])
data_root = "{data}"
dataset = dict(type="LaxCSV")
features = dict(visual=dict(type="LaxFeatures", dim=4), audio=dict(type="LaxFeatures", dim=4))
windows = dict(num_feats=10, feat_gap=1.0, feat_stride=1, window_stride=1.0, min_query_size=0.2)
evaluator = dict(type="AVEAccuracy")
splits = dict(train="train", val="val", test=None)
train_cfg = dict(lr=1e-3, batch_size=4, warmup_epochs=1, max_epochs=1)
'''


def _write_data(root: Path) -> None:
    """Eight training and two validation videos of 10 s: five labelled 2-s segments and ten 1-s features each."""
    rng = np.random.default_rng(0)
    for split, videos in (("train", [f"v{i}" for i in range(8)]), ("val", ["w0", "w1"])):
        (root / "feats" / split).mkdir(parents=True)
        rows = []
        for video in videos:
            np.save(root / "feats" / split / f"{video}.npy", rng.standard_normal((10, 1, 4)).astype(np.float32))
            np.save(root / "feats" / split / f"{video}.times.npy", np.stack([np.arange(10.0), np.arange(1.0, 11.0)], 1))
            rows += [(f"{video}_{k}", video, 2.0 * k, 2.0 * k + 2, int(rng.integers(3)), 10.0) for k in range(5)]
        pd.DataFrame(rows, columns=["segment_id", "video_id", "start", "stop", "label", "duration"]).to_csv(
            root / f"{split}.csv", index=False)


def _set(split: str, row: int | slice, column: str, value: float) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        table = pd.read_csv(root / f"{split}.csv")
        table.loc[row, column] = value
        table.to_csv(root / f"{split}.csv", index=False)
    return edit


def _leak(root: Path) -> None:
    """Validation video w0 in the training file too (with its features, so only the leak is wrong)."""
    train, val = pd.read_csv(root / "train.csv"), pd.read_csv(root / "val.csv")
    pd.concat([train, val[val.video_id == "w0"]]).to_csv(root / "train.csv", index=False)
    for suffix in (".npy", ".times.npy"):
        (root / "feats" / "train" / f"w0{suffix}").write_bytes((root / "feats" / "val" / f"w0{suffix}").read_bytes())


def _feature_times(root: Path) -> None:
    times = np.load(root / "feats" / "val" / "w1.times.npy")
    times[[3, 4]] = times[[4, 3]]
    np.save(root / "feats" / "val" / "w1.times.npy", times)


def _feature_width(root: Path) -> None:
    np.save(root / "feats" / "val" / "w1.npy", np.zeros((10, 1, 5), np.float32))


def _feature_nan(root: Path) -> None:
    values = np.load(root / "feats" / "val" / "w1.npy")
    values[6] = np.nan
    np.save(root / "feats" / "val" / "w1.npy", values)


#: case -> (the edit, dataset options, what the sentence names)
CASES: dict[str, tuple[Callable[[Path], None] | None, list[str], list[str]]] = {
    "segment-stops-before-it-starts": (_set("val", 2, "stop", 3.0), [],
                                       ["LaxCSV val: segment w0_2 of video w0", "a segment needs 0 <= start < stop"]),
    "label-outside-the-classes": (_set("train", 0, "label", 7), [], ["LaxCSV train: segment v0_0", "label 7, outside 0..2"]),
    "duration-not-positive": (_set("val", slice(0, 4), "duration", 0.0), [], ["LaxCSV val: video w0 has duration 0.0"]),
    "train-and-val-share-a-video": (_leak, [], ["LaxCSV train (training) and LaxCSV val share 1 videos (w0)"]),
    "feature-times-decrease": (_feature_times, [], ["visual features of video w1 (val): feature 4 [3, 4] s",
                                                    "feature times must increase"]),
    "feature-width": (_feature_width, [], ["w1", "5-d"]),
    "source-named-by-the-engine": (_set("val", 2, "stop", 3.0), ["dataset.named=True"],
                                   ["val.csv: segment w0_2 of video w0"]),
    "a-1.1-plugin-still-calling-validate": (_set("train", 0, "label", 7), ["dataset.validates=True"],
                                            ["LaxCSV train: segment v0_0", "label 7, outside 0..2"]),
    "nan-features-named-by-their-source": (_feature_nan, ["features.visual.named=True"],
                                           ["w1", "val/w1.npy", "NaN or inf"]),
    "a-feature-reader-bug-is-one-sentence": (None, ["features.audio.fails_on=w1"],
                                             ["LaxFeatures.open('val', 'w1') (audio features) failed",
                                              "RuntimeError: the reader hit a bug"]),
    "a-dataset-reader-bug-is-one-sentence": (None, ["dataset.fails_on=val"],
                                             ["LaxCSV.load('val') (LaxCSV) failed", "KeyError: 'label_column'"]),
    "a-metric-without-main-metric": (None, ["evaluator.type=NoMainMetric"], ["NoMainMetric", "main_metric"]),
}


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """The plugin module and clean data; each case copies the data and breaks one thing."""
    base = tmp_path_factory.mktemp("lax")
    (base / "src").mkdir()
    (base / "src" / "lax_tim_plugin.py").write_text(textwrap.dedent(PLUGIN))
    _write_data(base / "data")
    return base


def _case(clean: Path, tmp_path: Path, edit: Callable[[Path], None] | None) -> Path:
    data = tmp_path / "data"
    shutil.copytree(clean / "data", data)
    if edit is not None:
        edit(data)
    configs = Path(__file__).resolve().parents[1] / "configs"
    config = tmp_path / "lax.py"
    config.write_text(CONFIG.format(configs=configs, data=data))
    return config


def test_the_clean_data_passes(clean, tmp_path, monkeypatch):
    """The baseline: the cases below fail only because of their one edit."""
    monkeypatch.syspath_prepend(str(clean / "src"))
    outcome = run_cli(["check-data", str(_case(clean, tmp_path, None))])
    assert outcome.code == 0 and "OK: no problems found" in outcome.output, outcome.output


@pytest.mark.parametrize("name", list(CASES))
def test_run_and_check_data_refuse_what_the_plugin_did_not_check(clean, tmp_path, monkeypatch, name):
    edit, options, names = CASES[name]
    monkeypatch.syspath_prepend(str(clean / "src"))
    config = str(_case(clean, tmp_path, edit))
    checked = run_cli(["check-data", config, *(["--cfg-options", *options] if options else [])])
    assert "OK: no problems found" not in checked.output, checked.output
    assert_clear_error(checked, *names, code=1)
    work = tmp_path / "work"
    ran = run_cli(["run", config, "--work-dir", str(work), "--results-dir", str(tmp_path / "results"),
                   "--cfg-options", *options, *TINY_MODEL])
    assert_clear_error(ran, *names, code=2)
    assert not list(work.rglob("*.pth")), "a checkpoint was written: training started on bad data"


def test_check_data_warns_of_scoring_the_training_split_as_run_does(clean, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(clean / "src"))
    outcome = run_cli(["check-data", str(_case(clean, tmp_path, None)), "--cfg-options", "splits.val=train"])
    assert outcome.code == 0, outcome.output
    assert "warning: splits.val='train' is the training split" in outcome.output, outcome.output


def test_the_console_script_refuses_it_too(clean, tmp_path):
    config = _case(clean, tmp_path, CASES["segment-stops-before-it-starts"][0])
    proc = tim_bench("run", str(config), "--work-dir", str(tmp_path / "work"), "--results-dir", str(tmp_path / "r"),
                     "--cfg-options", *TINY_MODEL, env={"PYTHONPATH": str(clean / "src")}, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "LaxCSV val: segment w0_2 of video w0 has start 4.0 and stop 3.0" in proc.stderr


RETIRED_CALLS = '''
import json, warnings
import numpy as np, pandas as pd
from tim_bench_registry import SplitAnnotations, Task, VideoFeatures
from tim_bench_registry.contracts import check_disjoint

bad = SplitAnnotations(pd.DataFrame({"segment_id": ["a"], "video_id": ["v"], "start": [5.0], "stop": [1.0],
                                     "stream": ["visual"], "visual_x": [9]}), {"v": -2.0}, (Task("visual", "x", 3),))
features = VideoFeatures(np.array([[1.0, 0.0]]), np.zeros((2, 1, 4)))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for _ in range(2):
        bad.validate("x.csv", training=True)
        features.validate("y.npy", 8)
        check_disjoint(bad, bad, "x.csv", "z.csv")
print(json.dumps([[w.category.__name__, str(w.message), w.filename] for w in caught]))
'''


def test_the_retired_checks_warn_once_name_the_replacement_and_do_nothing():
    """A contract-1.1 plugin's calls keep working (no error, even on bad data: the engine checks it), each warning
    once per process, from the caller's line."""
    proc = subprocess.run([sys.executable, "-c", RETIRED_CALLS], capture_output=True, text=True, check=True)
    caught = json.loads(proc.stdout)
    assert [c[1].split(" is retired")[0] for c in caught] == ["SplitAnnotations.validate", "VideoFeatures.validate",
                                                              "check_disjoint"], caught
    for category, message, filename in caught:
        assert category == "DeprecationWarning" and filename == "<string>", (category, filename)
        assert "the engine checks every split and video itself since contract 1.2; set `source=`" in message
        assert "goes away with contract 2" in message
