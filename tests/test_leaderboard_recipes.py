"""Leaderboard rows are recipes: one row per recipe identity whatever config name reached it, chance rows from the
split's class counts, no best mark on a tie, the paper's main metric everywhere, and `compare` in words when
Welch's test cannot be computed."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from test_leaderboard_store import make_record
from tim_bench.leaderboard.chance import chance_level, label_counts
from tim_bench.leaderboard.compare import compare_runs, render_comparison
from tim_bench.leaderboard.errors import LeaderboardError
from tim_bench.leaderboard.reference import load_references
from tim_bench.leaderboard.tables import build_tables
from tim_bench_registry import LEADERBOARDS, METRICS, Chance, Predictions, Task, TaskPredictions, plugin_manager

AVE_COUNTS = {"visual_event": [6, 3, 1, 0], "audio_event": [2, 2, 5, 1]}


def run(run_id: str, seed: int, name: str, recipe: str, fused: float, visual: float = 50.0, **extra) -> dict:
    """An AVE record of ``recipe`` (its recipe hash) named ``name``; each seed has its own config hash."""
    return make_record(run_id, seed=seed, config_name=name, config_hash=f"{recipe}{seed}".ljust(64, "0"),
                       recipe_hash=recipe * 64, metrics={"acc_fused": fused, "acc_visual": visual, "acc_audio": 1.0},
                       **{"label_counts": AVE_COUNTS, **extra})


def test_one_recipe_under_two_config_names_is_one_row_named_once() -> None:
    recs = [run("o0", 0, "ave_vgg", "a", 70.0), run("f1", 1, "ave_vgg_lr1e3", "a", 72.0),
            run("b0", 0, "ave_vgg", "b", 60.0), run("b1", 1, "ave_vgg", "b", 61.0)]
    table = build_tables(recs, [])[0]
    rows = {row.label: row for row in table.measured_rows}
    assert len(rows) == 2, rows
    # the two rows share a name and have no config to tell them apart: the recipe hash does
    merged = rows[f"ave_vgg@{'a' * 7}"]
    assert merged.seeds == (0, 1) and merged.also_named == ("ave_vgg_lr1e3",)
    assert merged.cells["acc_fused"].mean == 71.0 and math.isclose(merged.cells["acc_fused"].std, math.sqrt(2))
    assert any(n.startswith(f"ave_vgg@{'a' * 7}: also run as ave_vgg_lr1e3") for n in table.notes), table.notes


def test_a_seed_run_twice_counts_once_from_its_newest_run() -> None:
    old = run("old", 0, "ave_vgg", "a", 10.0, created="2026-11-20T10:00:00+00:00")
    new = run("new", 0, "ave_vgg", "a", 70.0, created="2026-11-21T10:00:00+00:00")
    table = build_tables([old, new, run("s1", 1, "ave_vgg", "a", 72.0)], [])[0]
    (row,) = table.measured_rows
    assert row.seeds == (0, 1) and row.cells["acc_fused"].mean == 71.0
    assert any("seed 0 was run more than once" in n for n in table.notes)


def test_a_tie_is_not_a_best_and_a_single_best_still_is() -> None:
    flat = {"label_counts": {"visual_event": [1] * 10, "audio_event": [1] * 10}}  # chance 10 %: below every value
    recs = [run("a", 0, "x", "a", 16.25, visual=16.25, **flat), run("b", 0, "y", "b", 16.25, visual=16.0, **flat),
            run("c", 0, "z", "c", 10.5, visual=16.254, **flat)]  # 16.254 shows as 16.25: a tie as a reader sees it
    table = build_tables(recs, [])[0]
    assert not any(row.cells[m].best for row in table.rows for m in ("acc_fused", "acc_visual"))
    recs[0]["metrics"]["acc_fused"] = 17.0
    best = [row.label for row in build_tables(recs, [])[0].measured_rows if row.cells["acc_fused"].best]
    assert best == ["x"]


def test_chance_rows_come_from_the_recorded_class_counts() -> None:
    table = build_tables([run("a", 0, "x", "a", 70.0)], [])[0]
    majority, uniform = table.chance_rows
    assert (majority.label, uniform.label) == ("majority class", "uniform chance")
    assert majority.cells["acc_visual"].mean == pytest.approx(60.0)  # 6 of 10 seconds are class 0
    assert majority.cells["acc_fused"].mean == pytest.approx(60.0)  # fused is scored against the visual labels
    assert majority.cells["acc_audio"].mean == pytest.approx(50.0)
    assert all(c.mean == pytest.approx(25.0) for c in uniform.cells.values())  # 1 of 4 classes
    assert not any(c.best or c.delta is not None for row in table.chance_rows for c in row.cells.values())
    assert table.measured_rows[0].cells["acc_visual"].best is False  # chance rows are nothing to beat


def test_each_scored_split_gets_its_own_chance_rows_and_old_records_are_named() -> None:
    val = run("v", 0, "x", "a", 70.0, split="val", label_counts={"visual_event": [1, 1, 0, 0],
                                                                 "audio_event": [1, 1, 0, 0]})
    old = run("old", 0, "y", "b", 70.0)
    del old["label_counts"]
    table = build_tables([run("t", 0, "x", "a", 70.0), val, old], [])[0]
    assert [r.label for r in table.chance_rows] == ["majority class (test, n=10)", "uniform chance (test, n=10)",
                                                    "majority class (val, n=2)", "uniform chance (val, n=2)"]
    assert any("No chance level for 1 run(s) (e.g. old)" in n for n in table.notes)
    bad = run("bad", 0, "x", "a", 70.0, label_counts={"visual_event": ["many"]})
    with pytest.raises(LeaderboardError, match="Run record bad has label_counts that are not lists"):
        build_tables([bad], [])


def _majority_predictions(counts: list[int], key: str, k: int = 1) -> TaskPredictions:
    """Every segment predicts the split's most frequent classes (in order of frequency)."""
    labels = np.repeat(np.arange(len(counts)), counts)
    logits = np.zeros((len(labels), len(counts)), dtype=np.float32)
    for rank, cls in enumerate(np.argsort(-np.asarray(counts), kind="stable")[:k]):
        logits[:, cls] = 10.0 - rank
    return TaskPredictions(np.array([f"{key}{i}" for i in range(len(labels))]), logits, labels)


def test_majority_chance_is_what_the_benchmark_metric_scores_for_a_majority_predictor() -> None:
    plugin_manager()
    counts = {"visual_action": [7, 2, 2, 1, 0, 0, 0, 3], "audio_sound": [1, 4, 0, 2, 2, 1]}
    tasks = tuple(Task(*key.split("_"), len(c)) for key, c in counts.items())
    for k in (1, 5):
        preds = Predictions("PerceptionTest", "val", tasks,
                            {key: _majority_predictions(c, key, k) for key, c in counts.items()})
        scored = METRICS.get("PerceptionMetrics")()(preds, None)
        spec = LEADERBOARDS.get("PerceptionTest")
        assert label_counts(preds) == counts
        for metric in (f"action_top{k}", f"sound_top{k}") + (("action_mca", "sound_mca") if k == 1 else ()):
            chance = spec.chance[metric]
            assert chance_level(counts[chance.task], chance, "majority") == pytest.approx(scored[metric]), metric
    assert chance_level([3, 1, 0, 0], Chance("t", 5), "uniform") == 100.0  # k above the class count: all of them
    assert chance_level([0, 0], Chance("t"), "majority") is None  # no labelled segment: no level


def test_each_table_main_metric_is_its_benchmark_evaluator_default_and_holds_a_published_value() -> None:
    plugin_manager()
    evaluators = {"AVE": "AVEAccuracy", "EPIC100": "EPIC100Metrics", "EPICSounds": "EPICSoundsMetrics",
                  "EPIC100+EPICSounds": "EPICJointMetrics", "PerceptionTest": "PerceptionMetrics"}
    refs = load_references()
    for dataset, evaluator in evaluators.items():
        spec = LEADERBOARDS.get(dataset)
        assert METRICS.get(evaluator)().main_metric == spec.main, dataset  # `run` selects by the table's metric
        assert spec.main in spec.metrics and set(spec.chance) <= set(spec.metrics)
        published = [r for r in refs if r.dataset in spec.reference_datasets and r.default]
        assert published and all(spec.main in r.metrics for r in published if r.dataset == dataset), dataset
    ave = build_tables([run("a", 0, "ave_vgg", "a", 70.0, visual=80.0)], refs)[0]
    vgg = next(r for r in ave.reference_rows if r.reference.id == "tim_ave_vgg")
    assert ave.sort_metric == "acc_visual" and vgg.cells["acc_visual"].mean == 79.0


def test_compare_says_in_words_why_identical_seeds_have_no_test() -> None:
    pool = [run("a0", 0, "x", "a", 16.25, visual=16.25), run("a1", 1, "x", "a", 16.25, visual=16.25),
            run("b0", 0, "y", "b", 16.25, visual=16.25), run("b1", 1, "y", "b", 16.25, visual=16.25)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw scipy RuntimeWarning
        c = compare_runs(pool[0], pool[2], metrics_only=True, pool=pool)
    text = render_comparison(c)
    assert c.seed_test is None and "nan" not in text
    assert ("No across-seed test: every seed of A's recipe (seeds 0,1) gave acc_visual 16.25 and every seed of "
            "B's (seeds 0,1) gave 16.25 (both recipes score the same)") in text
