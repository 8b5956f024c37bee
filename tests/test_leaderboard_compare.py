"""`compare`: the paired bootstrap against hand-checked and exhaustively enumerated cases, and run pairing."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from test_leaderboard_store import make_record
from tim_bench_registry.predictions import Predictions, TaskPredictions
from tim_bench.io import sha256_file
from tim_bench.leaderboard.compare import compare_runs, paired_bootstrap, render_comparison
from tim_bench.leaderboard.errors import LeaderboardError
from tim_bench_registry import Task


def test_hand_checked_case() -> None:
    # 3 segments, only the first differs (B right, A wrong): observed difference 1/3 = 33.33 points.
    # A resample draws k ~ Binomial(3, 1/3) copies of that segment, difference k/3.
    # p = P(|k/3 - 1/3| >= 1/3) = P(k=0) + P(k=2) + P(k=3) = (8 + 6 + 1) / 27 = 15/27.
    # 95% CI: P(k=0) = 8/27 > 2.5%, so the low end is 0; P(k=3) = 1/27 > 2.5%, so the high end is 100.
    diff, low, high, p = paired_bootstrap(np.array([0, 1, 1]), np.array([1, 1, 1]), reps=200_000, seed=1)
    assert diff == pytest.approx(100 / 3)
    assert (low, high) == (0.0, 100.0)
    assert p == pytest.approx(15 / 27, abs=0.005)


def test_matches_exhaustive_enumeration_of_every_resample() -> None:
    a = np.array([1, 0, 0, 1, 1, 0], dtype=bool)
    b = np.array([1, 1, 1, 0, 1, 0], dtype=bool)
    n = len(a)
    delta = b.astype(int) - a.astype(int)
    sums = np.array([delta[list(idx)].sum() for idx in itertools.product(range(n), repeat=n)])  # all 6^6 draws
    observed = delta.sum()
    exact_p = np.mean(np.abs(sums - observed) >= abs(observed))
    exact_low, exact_high = np.percentile(100 * sums / n, [2.5, 97.5], method="inverted_cdf")
    diff, low, high, p = paired_bootstrap(a, b, reps=200_000, seed=0)
    assert diff == pytest.approx(100 * observed / n)
    assert p == pytest.approx(exact_p, abs=0.005)
    assert (low, high) == (exact_low, exact_high)


def test_identical_runs_have_p_one_and_a_zero_interval() -> None:
    a = np.array([1, 0, 1, 1], dtype=bool)
    assert paired_bootstrap(a, a.copy()) == (0.0, 0.0, 0.0, 1.0)
    with pytest.raises(LeaderboardError, match="equally long"):
        paired_bootstrap(a, a[:2])


def save_predictions(path: Path, ids: list[str], labels: list[int], predicted: list[int], num_classes: int = 3) -> str:
    logits = np.full((len(ids), num_classes), -1.0, dtype=np.float32)
    logits[np.arange(len(ids)), predicted] = 1.0
    task = Task("visual", "event", num_classes, tuple(f"c{i}" for i in range(num_classes)))
    Predictions("AVE", "test", (task,), {task.key: TaskPredictions(np.array(ids), logits, np.array(labels))}).save(path)
    return str(path)


def test_compare_pairs_segments_by_id_and_ignores_unlabelled(tmp_path: Path) -> None:
    # A: s1 right, s2 wrong, s3 right; B (other order, plus an unlabelled s4): s1 right, s2 right, s3 right
    pa = save_predictions(tmp_path / "a.npz", ["s1", "s2", "s3"], [0, 1, 2], [0, 0, 2])
    pb = save_predictions(tmp_path / "b.npz", ["s3", "s4", "s2", "s1"], [2, -1, 1, 0], [2, 1, 1, 0])
    a = make_record("A", metrics={"acc_fused": 66.0, "acc_visual": 66.7}, predictions=pa)
    b = make_record("B", metrics={"acc_fused": 70.0, "acc_visual": 100.0, "acc_audio": 1.0}, predictions=pb)
    c = compare_runs(a, b, reps=20_000)
    assert c.main_metric == "acc_visual"  # the AVE table's main metric (the paper's column) comes first
    assert c.metrics[1] == ("acc_fused", 66.0, 70.0, pytest.approx(4.0))
    assert c.metrics[2] == ("acc_audio", None, 1.0, None)
    (boot,) = c.bootstraps
    assert (boot.task, boot.n, boot.only_b, boot.only_a) == ("visual_event", 3, 1, 0)
    assert boot.diff == pytest.approx(100 / 3) and boot.p_value == pytest.approx(15 / 27, abs=0.02)
    text = render_comparison(c)
    assert "visual_event" in text and "+33.33" in text and "[+0.00, +100.00]" in text


def test_missing_predictions_are_an_error_unless_metrics_only(tmp_path: Path) -> None:
    pa = save_predictions(tmp_path / "a.npz", ["s1", "s2"], [0, 1], [0, 1])
    a, b = make_record("A", predictions=pa), make_record("B", predictions=str(tmp_path / "gone.npz"))
    with pytest.raises(LeaderboardError, match=r"Run B's predictions file .*gone\.npz does not exist.*--metrics-only"):
        compare_runs(a, b)
    c = compare_runs(a, b, metrics_only=True)
    assert c.bootstraps == [] and "--metrics-only" in c.note
    assert all(d == 0 for *_, d in c.metrics)


def test_compare_detects_a_swapped_predictions_file(tmp_path: Path, caplog) -> None:
    pa = save_predictions(tmp_path / "a.npz", ["s1", "s2"], [0, 1], [0, 1])
    pb = save_predictions(tmp_path / "b.npz", ["s1", "s2"], [0, 1], [0, 0])
    a = make_record("A", predictions=pa, predictions_sha256=sha256_file(pa))
    b = make_record("B", predictions=pb, predictions_sha256=sha256_file(pb))
    assert compare_runs(a, b).bootstraps[0].only_a == 1 and "warning" not in caplog.text
    save_predictions(tmp_path / "b.npz", ["s1", "s2"], [0, 1], [1, 1])  # a later run replaced B's file
    with pytest.raises(LeaderboardError, match=r"Run B's predictions file .*b\.npz is not the one its record was"):
        compare_runs(a, b)
    # the record points at A's file: the two runs load the same predictions
    with pytest.raises(LeaderboardError, match="load identical predictions"):
        compare_runs(a, make_record("B", predictions=pa))
    with pytest.raises(LeaderboardError, match="both run A"):
        compare_runs(a, a)


def test_records_without_a_hash_are_compared_with_a_warning(tmp_path: Path, caplog) -> None:
    pa = save_predictions(tmp_path / "a.npz", ["s1", "s2"], [0, 1], [0, 1])
    pb = save_predictions(tmp_path / "b.npz", ["s1", "s2"], [0, 1], [0, 0])
    assert compare_runs(make_record("A", predictions=pa), make_record("B", predictions=pb)).bootstraps
    assert "run A's record has no predictions_sha256" in caplog.text and "cannot verify" in caplog.text


def test_compare_refuses_runs_that_cannot_be_paired(tmp_path: Path) -> None:
    with pytest.raises(LeaderboardError, match="same dataset and split"):
        compare_runs(make_record("A"), make_record("B", split="val"))
    pa = save_predictions(tmp_path / "a.npz", ["s1", "s2"], [0, 1], [0, 1])
    pb = save_predictions(tmp_path / "b.npz", ["s1", "s2"], [0, 2], [0, 1])
    with pytest.raises(LeaderboardError, match="label 'visual_event' segment s2 differently"):
        compare_runs(make_record("A", predictions=pa), make_record("B", predictions=pb))
    pc = save_predictions(tmp_path / "c.npz", ["x1"], [0], [0])
    with pytest.raises(LeaderboardError, match="share no labelled 'visual_event' segment"):
        compare_runs(make_record("A", predictions=pa), make_record("C", predictions=pc))
