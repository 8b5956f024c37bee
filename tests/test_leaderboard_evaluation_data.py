"""Leaderboard marks and chance levels follow the evaluation data: a best value is marked only among rows scored on
the same data and only above that data's chance level, each measured row names its data as its chance rows do, and a
chance level divides by the segments its metric scores (EPIC's action@1 scores every segment)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from test_leaderboard_store import make_record
from tim_bench.leaderboard.chance import chance_level, label_counts, task_segments
from tim_bench.leaderboard.formats import render_csv, render_latex, render_markdown, render_terminal
from tim_bench.leaderboard.tables import build_tables
from tim_bench_registry import IGNORE_LABEL, LEADERBOARDS, METRICS, Predictions, Task, TaskPredictions, plugin_manager


def ave_run(run_id: str, data: str, n: int, counts: list[int], **metrics: float) -> dict:
    """An AVE record scored on the test split of data ``data`` (its fingerprint) with ``n`` segments per stream."""
    return make_record(run_id, config_name=f"ave_{run_id}", config_hash=run_id.ljust(64, "0"), recipe_hash=run_id * 64,
                       metrics={"acc_visual": None, "acc_fused": None, "acc_audio": None, **metrics},
                       data_fingerprint={"sha256": data * 64, "annotations": {"sha256": data * 64}},
                       label_counts={"visual_event": counts, "audio_event": counts},
                       task_segments={"visual_event": n, "audio_event": n},
                       scored_split={"name": "test", "segments": {"visual": n, "audio": n}})


def review_table() -> object:
    """The reviewer's AVE store: a 400-segment set (chance 16.25) and an 80-segment one (chance 32.50)."""
    big, small = [65, 60, 55, 50, 45, 45, 40, 40], [26, 14, 10, 10, 8, 6, 4, 2]
    recs = [ave_run("vgg1", "a", 400, big, acc_visual=16.25, acc_fused=16.25, acc_audio=16.25),  # collapsed
            ave_run("vgg10", "a", 400, big, acc_visual=74.75, acc_fused=70.5, acc_audio=15.0),
            ave_run("asf", "b", 80, small, acc_visual=0.0, acc_fused=22.5, acc_audio=0.0),
            ave_run("asf2", "b", 80, small, acc_visual=40.0, acc_fused=20.0, acc_audio=1.0)]
    return build_tables(recs, [])[0]


def test_best_is_marked_among_rows_of_the_same_data_and_never_at_or_below_chance() -> None:
    table = review_table()
    best = {m: sorted(r.name for r in table.measured_rows if r.cells[m].best) for m in table.metrics}
    # 74.75 and 40.00 each lead their own data; 22.50 fused is below its data's 32.50 chance; 16.25 (the collapsed
    # run, exactly chance) and 15.00 audio beat nothing
    assert best == {"acc_visual": ["ave_asf2", "ave_vgg10"], "acc_fused": ["ave_vgg10"], "acc_audio": []}


def test_each_measured_row_names_its_data_as_its_chance_rows_do() -> None:
    table = review_table()
    assert [r.label for r in table.chance_rows] == ["majority class (test, n=400)", "uniform chance (test, n=400)",
                                                    "majority class (test, n=80)", "uniform chance (test, n=80)"]
    assert table.chance_rows[2].cells["acc_fused"].mean == pytest.approx(32.5)
    assert {r.name: r.scored_on for r in table.measured_rows} == {
        "ave_vgg1": "test (n=400)", "ave_vgg10": "test (n=400)", "ave_asf": "test (n=80)", "ave_asf2": "test (n=80)"}
    assert all(r.scored_on == f"test ({r.evaluation})" for r in table.chance_rows)
    assert any("scored on different evaluation data" in n for n in table.notes)
    # every format shows which data a row scored and marks the same cells
    for text in (render_terminal([table]), render_markdown([table]), render_latex([table])):
        assert "test (n=80)" in text and "test (n=400)" in text
        assert "22.50*" not in text and "**22.50**" not in text and r"\textbf{22.50}" not in text
    assert "74.75*" in render_terminal([table]) and "**40.00**" in render_markdown([table])
    assert set(pd_lines(render_csv([table]))) >= {"n=400", "n=80"}


def pd_lines(csv_text: str) -> list[str]:
    """The CSV's ``evaluation`` column."""
    import io

    import pandas as pd
    return list(pd.read_csv(io.StringIO(csv_text))["evaluation"].dropna())


def test_runs_of_one_data_in_one_table_show_no_data_name_and_unknown_data_is_never_marked() -> None:
    counts = [5, 5, 5, 5]
    one = build_tables([ave_run("x", "a", 20, counts, acc_visual=60.0), ave_run("y", "a", 20, counts, acc_visual=50.0)],
                       [])[0]
    assert [r.scored_on for r in one.rows] == ["test"] * 4 and one.measured_rows[0].cells["acc_visual"].best
    old = [make_record(f"o{i}", config_hash=str(i) * 64, metrics={"acc_visual": v}) for i, v in enumerate((60., 50.))]
    for record in old:
        del record["data_fingerprint"]
    table = build_tables(old, [])[0]
    assert not any(c.best for r in table.rows for c in r.cells.values())
    assert any("do not say which data they scored" in n for n in table.notes)


def _epic_predictions(pairs: list[tuple[int, int]], vocabulary: list[tuple[int, int]]) -> Predictions:
    """Visual verb, noun and action predictions that always answer the split's most frequent action (a pair
    outside ``vocabulary`` has no action label, as in the EPIC dataset plugin)."""
    verbs, nouns = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    actions = np.array([vocabulary.index(p) if p in vocabulary else IGNORE_LABEL for p in pairs])
    majority = int(np.bincount(actions[actions >= 0]).argmax())
    ids = np.array([f"P01_{i:03d}" for i in range(len(pairs))])

    def constant(cls: int, classes: int, labels: np.ndarray) -> TaskPredictions:
        logits = np.zeros((len(pairs), classes), dtype=np.float32)
        logits[:, cls] = 10.0
        return TaskPredictions(ids, logits, labels)
    tasks = (Task("visual", "verb", 6), Task("visual", "noun", 6), Task("visual", "action", len(vocabulary)))
    v, n = vocabulary[majority]
    return Predictions("EPIC100", "val", tasks, {"visual_verb": constant(v, 6, verbs),
                                                 "visual_noun": constant(n, 6, nouns),
                                                 "visual_action": constant(majority, len(vocabulary), actions)})


def test_epic_action_chance_divides_by_every_segment_the_metric_scores() -> None:
    plugin_manager()
    # 10 segments; only 4 have a pair of the action vocabulary (3 of them the majority action (0, 0))
    pairs = [(0, 0)] * 3 + [(1, 1)] + [(2, 3)] * 2 + [(4, 5)] * 2 + [(5, 2), (3, 4)]
    preds = _epic_predictions(pairs, vocabulary=[(0, 0), (1, 1)])
    scored = METRICS.get("EPIC100Metrics")()(preds, SimpleNamespace(extra={}))
    spec = LEADERBOARDS.get("EPIC100")
    counts, segments = label_counts(preds), task_segments(preds)
    assert segments["visual_action"] == 10 and sum(counts["visual_action"]) == 4
    for metric in ("all_action_accuracy_at_1", "tim_action_head_top1", "all_verb_accuracy_at_1"):
        chance = spec.chance[metric]
        level = chance_level(counts[chance.task], chance, "majority", segments[chance.task])
        assert level == pytest.approx(scored[metric]) == pytest.approx(30.0), metric  # 3 of 10, not 3 of 4
    # uniform guessing is never right on a segment without an action label
    assert chance_level(counts["visual_action"], spec.chance["all_action_accuracy_at_1"], "uniform", 10) == \
        pytest.approx(100.0 / 2 * 4 / 10)


def test_epic_table_chance_rows_use_the_metric_denominator_and_say_n_per_column() -> None:
    record = make_record("e", dataset="EPIC100", split="val", main_metric="all_action_accuracy_at_1",
                         metrics={"all_action_accuracy_at_1": 35.0, "all_verb_accuracy_at_1": 50.0,
                                  "all_interaction_accuracy_at_1": 20.0},
                         label_counts={"visual_verb": [5, 5], "visual_action": [1, 0], "audio_interaction": [20, 6]},
                         task_segments={"visual_verb": 10, "visual_action": 10, "audio_interaction": 26},
                         scored_split={"name": "val", "segments": {"visual": 10, "audio": 26}})
    record["dataset"] = "EPIC100+EPICSounds"
    table = build_tables([record], [])[0]
    majority = table.chance_rows[0]
    assert majority.cells["all_action_accuracy_at_1"].mean == pytest.approx(10.0)  # 1 of 10 segments, not 1 of 1
    assert any("verb@1, action@1 over 10 segments" in n and "sound@1 over 26 segments" in n for n in table.notes), \
        table.notes
    old = {k: v for k, v in record.items() if k != "task_segments"}  # a record from before task_segments
    cells = build_tables([old], [])[0].chance_rows[0].cells
    assert cells["all_action_accuracy_at_1"].mean is None and cells["all_verb_accuracy_at_1"].mean == 50.0


def test_a_real_epic_run_records_what_its_action_chance_divides_by(tmp_path) -> None:
    """The README's EPIC smoke run: its record counts every visual segment of the action task, and its table's
    action@1 chance is the majority action's count over all of them, as the metric divides."""
    import json
    from pathlib import Path

    from bad_input import run_cli
    from helpers import TINY_MODEL
    from tim_bench_plugins.epic.synthetic import make_epic

    root = make_epic(tmp_path / "epic", 4, 0, 8, 8)
    config = str(Path(__file__).resolve().parents[1] / "configs" / "epic_av.py")
    outcome = run_cli(["run", config, "--work-dir", str(tmp_path / "run"), "--results-dir", str(tmp_path / "store"),
                       "--cfg-options", f"data_root={root}", "features.visual.dim=8", "features.audio.dim=8",
                       *TINY_MODEL, "train_cfg.max_epochs=1", "train_cfg.warmup_epochs=0"])
    assert outcome.code == 0, outcome.output
    record = json.loads((tmp_path / "run" / "result.json").read_text())
    visual = record["scored_split"]["segments"]["visual"]
    assert record["task_segments"]["visual_action"] == record["task_segments"]["visual_verb"] == visual
    action = record["label_counts"]["visual_action"]
    assert sum(action) < visual  # some (verb, noun) pairs are outside the action vocabulary
    table = build_tables([record], [])[0]
    majority = table.chance_rows[0].cells
    assert majority["all_action_accuracy_at_1"].mean == pytest.approx(100.0 * max(action) / visual)
    assert majority["all_action_accuracy_at_5"].mean == pytest.approx(100.0 * sum(sorted(action)[-5:]) / visual)
