"""A third-party plugin package, pip-installed in a temp dir, is found via its entry point and used by `run`."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bad_input import run_cli
from helpers import TINY_MODEL, tim_bench

PLUGIN = '''
"""A toy dataset plugin: segments from a CSV, two streams, one 'event' task each."""
from pathlib import Path

import pandas as pd
from tim_bench_registry import DATASETS, SplitAnnotations, Task


@DATASETS.register_module()
class ToyCSV:
    def __init__(self, data_root, num_classes=3):
        self.root, self.num_classes = Path(data_root), num_classes

    def splits(self):
        return ("train", "val")

    def tasks(self):
        return (Task("visual", "event", self.num_classes), Task("audio", "event", self.num_classes))

    def load(self, split):
        table = pd.read_csv(self.root / f"{split}.csv")
        visual = table.assign(stream="visual", visual_event=table.label, audio_event=-1)
        audio = table.assign(stream="audio", visual_event=-1, audio_event=table.label)
        segments = pd.concat([visual, audio], ignore_index=True).drop(columns="label")
        durations = dict(zip(table.video_id, table.duration))
        return SplitAnnotations(segments.drop(columns="duration"), durations, self.tasks())
'''

CONFIG = '''
_base_ = ["{configs}/_base_/default_runtime.py", "{configs}/_base_/tim_model.py"]
data_root = "{data}"
dataset = dict(type="ToyCSV")
features = dict(visual=dict(type="NpyFeatures", folder="feats", intervals="feats/intervals_{{split}}.csv"),
                audio=dict(type="NpyFeatures", folder="feats", intervals="feats/intervals_{{split}}.csv"))
windows = dict(num_feats=10, feat_gap=1.0, feat_stride=1, window_stride=1.0, min_query_size=0.2)
evaluator = dict(type="AVEAccuracy")
splits = dict(train="train", val="val", test=None)
train_cfg = dict(lr=1e-3, batch_size=4, warmup_epochs=1)
model = dict(feat_dropout=0.1, seq_dropout=0.1)
{extra}
'''


def _write_data(root: Path, rng: np.random.Generator) -> None:
    protos = rng.standard_normal((3, 8)) * 2
    for split, n in (("train", 48), ("val", 8)):
        rows, intervals = [], []
        for v in range(n):
            vid = f"{split}{v:02d}"
            label = np.repeat(rng.integers(3, size=5), 2)  # five 2-s segments
            feats = (protos[label] + rng.standard_normal((10, 8)))[:, None].astype(np.float32)
            (root / "feats" / split).mkdir(parents=True, exist_ok=True)
            np.save(root / "feats" / split / f"{vid}.npy", feats)
            intervals += [(vid, float(t), t + 1.0) for t in range(10)]
            rows += [(f"{vid}_{k}", vid, 2.0 * k, 2.0 * k + 2, int(label[2 * k]), 10.0) for k in range(5)]
        pd.DataFrame(rows, columns=["segment_id", "video_id", "start", "stop", "label", "duration"]).to_csv(
            root / f"{split}.csv", index=False)
        pd.DataFrame(intervals, columns=["video_id", "start_sec", "stop_sec"]).to_csv(
            root / "feats" / f"intervals_{split}.csv", index=False)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    base = tmp_path_factory.mktemp("toy")
    pkg = base / "src"
    pkg.mkdir()
    (pkg / "toy_tim_plugin.py").write_text(textwrap.dedent(PLUGIN))
    (pkg / "pyproject.toml").write_text(textwrap.dedent('''
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "toy-tim-plugin"
        version = "0.1"
        [project.entry-points.tim_bench]
        toy = "toy_tim_plugin"
        [tool.setuptools]
        py-modules = ["toy_tim_plugin"]
    '''))
    site = base / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
                    str(site), str(pkg)], check=True, capture_output=True)
    data = base / "data"
    _write_data(data, np.random.default_rng(0))
    return base, site, data, pkg


def test_installed_plugin_is_listed_with_its_origin(toy):
    _, site, _, _ = toy
    out = tim_bench("plugins", env={"PYTHONPATH": str(site)}).stdout
    assert "ToyCSV" in out and "entry point toy (toy-tim-plugin): toy_tim_plugin" in out
    assert "AVE" in out and "built-in" in out


@pytest.mark.slow
def test_run_trains_on_the_plugins_dataset(toy, tmp_path):
    base, site, data, _ = toy
    configs = Path(__file__).resolve().parents[1] / "configs"
    cfg = tmp_path / "toy.py"
    cfg.write_text(CONFIG.format(configs=configs, data=data, extra=""))
    tim_bench("run", str(cfg), "--work-dir", str(tmp_path / "wd"), "--results-dir", str(tmp_path / "store"),
              "--cfg-options", *TINY_MODEL, "train_cfg.max_epochs=30", env={"PYTHONPATH": str(site)})
    result = json.loads((tmp_path / "wd" / "result.json").read_text())
    assert result["dataset"] == "ToyCSV" and result["split"] == "val"
    assert result["metrics"]["acc_visual"] > 80, result["metrics"]  # chance 33 %


@pytest.mark.slow
def test_custom_imports_registers_a_module_from_the_config(toy, tmp_path):
    _, _, data, src = toy
    pkg = tmp_path / "plain"  # the bare module, without the metadata pip left beside its source
    pkg.mkdir()
    (pkg / "toy_tim_plugin.py").write_text((src / "toy_tim_plugin.py").read_text())
    configs = Path(__file__).resolve().parents[1] / "configs"
    cfg = tmp_path / "toy_custom.py"
    cfg.write_text(CONFIG.format(configs=configs, data=data,
                                 extra="custom_imports = dict(imports=['toy_tim_plugin'], allow_failed_imports=False)"))
    proc = tim_bench("train", str(cfg), "--work-dir", str(tmp_path / "wd"), "--cfg-options", *TINY_MODEL,
                     "train_cfg.max_epochs=1", env={"PYTHONPATH": str(pkg)})
    assert "best epoch 1 of 1" in proc.stdout
    listed = tim_bench("plugins", "Toy*", "--imports", "toy_tim_plugin", env={"PYTHONPATH": str(pkg)}).stdout
    assert "custom_imports: toy_tim_plugin" in listed


def test_custom_import_that_fails_is_named(tmp_path):
    configs = Path(__file__).resolve().parents[1] / "configs"
    cfg = tmp_path / "bad.py"
    cfg.write_text(CONFIG.format(configs=configs, data=tmp_path,
                                 extra="custom_imports = dict(imports=['no_such_plugin_module'])"))
    outcome = run_cli(["train", str(cfg)])  # in-process: a failed import registers nothing
    assert outcome.code == 2 and "no_such_plugin_module" in outcome.output and "PYTHONPATH" in outcome.output
