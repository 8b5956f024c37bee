"""Pictures of a run from a hand-made metrics.jsonl and predictions: what is drawn, and from which numbers."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from test_leaderboard_store import make_record
from tim_bench_registry.predictions import Predictions, TaskPredictions
from tim_bench.leaderboard.errors import LeaderboardError
from tim_bench.leaderboard.plots import (MAX_MATRIX_CLASSES, best_epoch_of, confused_pairs, confusion_counts,
                                         read_epoch_log, run_plot_files, training_curves_figure, write_run_plots)
from tim_bench_registry import Task


def write_epoch_log(path: Path, epochs: int = 3) -> None:
    lines = [{"epoch": e, "lr": 1e-3 / e, "train_loss": 2.0 / e, "main_metric": "acc_fused", "time_s": 0.1,
              "val": {"acc_fused": 10.0 * e, "acc_visual": 5.0 * e}} for e in range(1, epochs + 1)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def write_predictions(path: Path, num_classes: int, n: int = 120, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, n)
    labels[:5] = -1  # unlabelled rows are left out of every picture
    logits = rng.normal(size=(n, num_classes)).astype(np.float32)
    logits[np.arange(n)[::2], np.clip(labels[::2], 0, None)] += 5.0  # half the segments right
    tasks = (Task("visual", "verb", num_classes, tuple(f"class {i}" for i in range(num_classes))),)
    Predictions("EPIC100", "val", tasks, {"visual_verb": TaskPredictions(np.array([f"s{i}" for i in range(n)]),
                                                                          logits, labels)}).save(path)


def test_epoch_log_is_read_into_columns(tmp_path: Path) -> None:
    write_epoch_log(tmp_path / "metrics.jsonl")
    log = read_epoch_log(tmp_path / "metrics.jsonl")
    assert list(log["epoch"]) == [1, 2, 3] and list(log["val/acc_fused"]) == [10.0, 20.0, 30.0]
    (tmp_path / "bad.jsonl").write_text('{"epoch": 1}\n{"lr": 1}\n')
    with pytest.raises(LeaderboardError, match=r"bad\.jsonl line 2 is not an epoch entry"):
        read_epoch_log(tmp_path / "bad.jsonl")


def _best_lines(fig) -> list[tuple[float, str]]:
    return [(line.get_xdata()[0], line.get_label()) for ax in fig.axes for line in ax.get_lines()
            if line.get_label().startswith("best epoch")]


def test_curves_mark_the_best_epoch_in_every_panel(tmp_path: Path) -> None:
    lines = [{"epoch": e, "lr": 1e-3, "train_loss": 1.0, "main_metric": "acc_fused", "val": {"acc_fused": v}}
             for e, v in ((1, 10.0), (2, 30.0), (3, 30.0), (4, 20.0))]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    log = read_epoch_log(tmp_path / "metrics.jsonl")
    assert best_epoch_of(log) == 2  # the first of equal bests, as the trainer keeps only a strictly better one
    assert _best_lines(training_curves_figure(log)) == [(2, "best epoch 2")] * 3
    assert _best_lines(training_curves_figure(log, best_epoch=3)) == [(3, "best epoch 3")] * 3  # the record's
    no_val = read_epoch_log(tmp_path / "metrics.jsonl").drop(columns=["val/acc_fused"])
    assert _best_lines(training_curves_figure(no_val)) == []


def test_small_label_sets_get_a_confusion_matrix(tmp_path: Path) -> None:
    write_epoch_log(tmp_path / "metrics.jsonl")
    write_predictions(tmp_path / "p.npz", num_classes=5)
    record = make_record(work_dir=str(tmp_path), predictions=str(tmp_path / "p.npz"))
    written = write_run_plots(record)
    assert [p.name for p in written] == ["curves.png", "per_class_visual_verb.png", "confusion_visual_verb.png"]
    assert run_plot_files(record) == sorted(written)
    for path in written:
        image = imread(path)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
        assert image[..., :3].std() > 0  # something is drawn


def test_large_label_sets_list_the_most_confused_pairs(tmp_path: Path) -> None:
    num_classes = MAX_MATRIX_CLASSES + 10
    write_predictions(tmp_path / "p.npz", num_classes=num_classes, n=400)
    written = write_run_plots(make_record(work_dir=str(tmp_path), predictions=str(tmp_path / "p.npz")))
    assert [p.name for p in written] == ["per_class_visual_verb.png", "confused_pairs_visual_verb.csv",
                                         "confused_pairs_visual_verb.png"]
    listed = (tmp_path / "plots" / "confused_pairs_visual_verb.csv").read_text().splitlines()
    assert listed[0] == "true,predicted,count,share_of_true" and len(listed) == 21


def test_confusion_counts_and_pairs_by_hand() -> None:
    # true 0 predicted 1 twice, true 2 predicted 1 once, one correct 0, one unlabelled
    logits = np.eye(3, dtype=np.float32)[[1, 1, 1, 0, 2]]
    task = TaskPredictions(np.array(list("abcde")), logits, np.array([0, 0, 2, 0, -1]))
    counts = confusion_counts(task, 3)
    assert counts.tolist() == [[1, 2, 0], [0, 0, 0], [0, 1, 0]]
    pairs = confused_pairs(task, ("zero", "one", "two"))
    assert pairs.to_dict("list") == {"true": ["zero", "two"], "predicted": ["one", "one"], "count": [2, 1],
                                     "share_of_true": [2 / 3, 1.0]}


def test_a_run_without_work_dir_files_gets_no_pictures(tmp_path: Path) -> None:
    record = make_record(work_dir=str(tmp_path), predictions=str(tmp_path / "missing.npz"))
    assert write_run_plots(record) == [] and run_plot_files(record) == []
