"""A run says what its numbers mean (split sizes, chance levels, empty metric groups), stores each distinct
set of weights once, keeps what train_cfg.keep_checkpoints asks, and `test RUN_DIR` needs no overrides again."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bad_input import run_cli
from helpers import TINY_MODEL
from tim_bench_plugins.ave.synthetic import make_ave

CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ave(tmp_path_factory) -> Path:
    return make_ave(tmp_path_factory.mktemp("data") / "ave", videos=30, visual_dim=8, audio_dim=4)


def _options(ave: Path, *extra: str) -> list[str]:
    # a run that scores above 0 on every stream: the original keeps no stream best of a 0 % stream
    return [f"data_root={ave}", *TINY_MODEL, "train_cfg.max_epochs=3", "train_cfg.warmup_epochs=0",
            "train_cfg.lr=3e-3", *extra]


@pytest.fixture(scope="module")
def run_dir(ave, tmp_path_factory) -> Path:
    wd = tmp_path_factory.mktemp("runs") / "run"
    outcome = run_cli(["run", CONFIG, "--work-dir", str(wd), "--cfg-options", *_options(ave)])
    assert outcome.code == 0, outcome.output
    return wd


def test_result_states_split_sizes_and_chance(run_dir, ave):
    from tim_bench_plugins.ave.dataset import AVE
    record = json.loads((run_dir / "result.json").read_text())
    split = record["scored_split"]
    ann = AVE(data_root=str(ave)).load(record["split"])
    seg = ann.segments
    assert split["name"] == record["split"] and split["videos"] == seg["video_id"].nunique()
    assert split["segments"] == {s: int((seg["stream"] == s).sum()) for s in ("visual", "audio")}
    assert sum(split["queries"].values()) >= sum(split["segments"].values()) and split["windows"] > 0
    for task in ann.tasks:
        labels = seg[task.key].to_numpy()
        labels = labels[labels >= 0]
        counts = np.bincount(labels, minlength=task.num_classes)
        facts = split["tasks"][task.key]
        assert facts["chance_majority"] == pytest.approx(100 * counts.max() / len(labels), abs=1e-3)
        assert facts["chance_uniform"] == pytest.approx(100 / task.num_classes, abs=1e-3)
        assert facts["class_counts"] == {str(c): int(n) for c, n in enumerate(counts) if n}
    assert record["empty_metric_groups"] == {}  # AVE has no subsets
    log = (run_dir / "log.txt").read_text()
    assert f"split '{record['split']}': {split['videos']} videos" in log and "chance among the labelled: majority class" in log
    # every task of a stream counts all its segments (AVE labels every one), the leaderboard's chance denominators
    assert record["task_segments"] == {t.key: split["segments"][t.stream] for t in ann.tasks}


def test_result_records_each_inference_batch_size(run_dir):
    """On the CPU, test_cfg.probe_batch_size="auto" probes nothing: every split is inferred at test_cfg.batch_size."""
    record = json.loads((run_dir / "result.json").read_text())
    chosen = {"batch_size": record["config"]["test_cfg"]["batch_size"], "chosen_by": "test_cfg.batch_size"}
    assert record["inference_batch_size"] == {"validation": chosen, record["split"]: chosen}


def test_each_set_of_weights_is_stored_once(run_dir):
    by_file = {p: torch.load(p, weights_only=True) for p in sorted(run_dir.glob("best*.pth"))}
    for a, ca in by_file.items():
        for b, cb in by_file.items():
            if a < b and ca["epoch"] == cb["epoch"]:
                assert a.stat().st_ino == b.stat().st_ino, f"{a.name} and {b.name} hold one epoch's weights twice"
    assert "config" in by_file[run_dir / "best.pth"]
    log = (run_dir / "log.txt").read_text()
    assert "checkpoints kept (train_cfg.keep_checkpoints='all'): best.pth = " in log, log


def test_test_run_dir_uses_the_runs_config_and_best_checkpoint(run_dir):
    outcome = run_cli(["test", str(run_dir), "--json"])
    assert outcome.code == 0, outcome.output
    written = json.loads((run_dir / "test_val.json").read_text())
    assert written["checkpoint"] == str(run_dir / "best.pth") and written["scored_split"]["name"] == "val"
    assert "tim-bench.lock" not in {p.name for p in run_dir.iterdir()}
    outcome = run_cli(["predict", str(run_dir)])
    assert outcome.code == 2 and "holds the run's own predictions" in outcome.output, outcome.output


def test_checkpoint_of_other_overrides_names_the_keys(run_dir, ave, tmp_path):
    outcome = run_cli(["test", CONFIG, str(run_dir / "best.pth"), "--work-dir", str(tmp_path / "out"),
                       "--cfg-options", f"data_root={ave}"])
    assert outcome.code == 2, outcome.output
    assert "keys that differ (checkpoint -> given): " in outcome.output and "model.d_model: 32 -> 256" in outcome.output


@pytest.mark.parametrize("keep, gone, kept", [("best", ["last.pth"], ["best.pth", "best_visual.pth"]),
                                              ("last", ["best_visual.pth", "best_audio.pth"], ["best.pth", "last.pth"])])
def test_keep_checkpoints(ave, tmp_path, keep, gone, kept):
    outcome = run_cli(["train", CONFIG, "--work-dir", str(tmp_path), "--cfg-options",
                       *_options(ave, "train_cfg.max_epochs=1", f"train_cfg.keep_checkpoints={keep}")])
    assert outcome.code == 0, outcome.output
    names = {p.name for p in tmp_path.iterdir()}
    assert not names & set(gone) and set(kept) <= names, names
    assert f"keep_checkpoints='{keep}'" in (tmp_path / "config.py").read_text().replace('"', "'")


def test_unknown_keep_checkpoints_is_refused_before_training(ave, tmp_path):
    outcome = run_cli(["train", CONFIG, "--work-dir", str(tmp_path / "wd"), "--cfg-options",
                       *_options(ave, "train_cfg.keep_checkpoints=none")])
    assert outcome.code == 2 and "train_cfg.keep_checkpoints='none' is not valid" in outcome.output \
        and "'all', 'best', 'last'" in outcome.output, outcome.output
    assert not (tmp_path / "wd").exists()
