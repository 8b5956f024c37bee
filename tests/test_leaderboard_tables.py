"""Leaderboard tables from hand-made records: aggregation, marks, deltas, filters and every text format."""
from __future__ import annotations

import io
import math
import re
from datetime import datetime, timezone

import pandas as pd
import pytest

from test_leaderboard_store import make_record
from tim_bench.leaderboard.errors import LeaderboardError
from tim_bench.leaderboard.formats import render_csv, render_latex, render_markdown, render_terminal
from tim_bench.leaderboard.reference import load_references
from tim_bench.leaderboard.tables import Table, build_tables, parse_since, select_records, tables_frame


def records() -> list[dict]:
    """ave_a: two seeds; ave_b: one seed, best fused; ave_a with other overrides (another hash); one EPIC run."""
    return [
        make_record("a0", seed=0, metrics={"acc_fused": 70.0, "acc_visual": 60.0, "acc_audio": 50.0},
                    created="2026-11-20T10:00:00+00:00"),
        make_record("a1", seed=1, metrics={"acc_fused": 72.0, "acc_visual": 64.0, "acc_audio": 52.0},
                    created="2026-11-21T10:00:00+00:00"),
        make_record("b0", config_name="ave_b", config_hash="b" * 64,
                    metrics={"acc_fused": 75.0, "acc_visual": 61.0, "acc_audio": None},
                    created="2026-11-22T10:00:00+00:00"),
        make_record("a-lr", config_hash="c" * 64, metrics={"acc_fused": 10.0, "acc_visual": 11.0, "acc_audio": 12.0},
                    created="2026-11-23T10:00:00+00:00"),
        make_record("e0", config_name="epic_av_omnivore_videomae", config_hash="e" * 64, dataset="EPIC100",
                    split="val",
                    main_metric="all_action_accuracy_at_1",
                    metrics={"all_verb_accuracy_at_1": 70.0, "all_noun_accuracy_at_1": 60.0,
                             "all_action_accuracy_at_1": 50.0, "tim_action_head_top1": 49.0},
                    created="2026-11-24T10:00:00+00:00"),
    ]


def ave_table() -> Table:
    return next(t for t in build_tables(records(), load_references()) if t.spec.name == "AVE")


def test_rows_group_seeds_of_one_config_with_mean_and_sample_std() -> None:
    table = ave_table()
    # ordered by the AVE table's main metric, the visual head's accuracy (the paper's column)
    assert table.sort_metric == "acc_visual"
    assert [r.label for r in table.rows] == ["[ref] tim_ave_omnivore_asf", "[ref] tim_ave_vgg", f"ave_a@{'a' * 7}",
                                             "ave_b", f"ave_a@{'c' * 7}"]
    a = table.rows[2]
    assert a.seeds == (0, 1) and a.cells["acc_fused"].mean == 71.0
    assert math.isclose(a.cells["acc_fused"].std, math.sqrt(2.0))
    assert table.rows[3].cells["acc_fused"].std is None  # one run: no std
    assert table.rows[3].cells["acc_audio"].mean is None  # a null metric is missing, not zero


def test_best_is_marked_per_column_and_deltas_use_the_published_row() -> None:
    table = ave_table()
    best = {m: [r.label for r in table.measured_rows if r.cells[m].best] for m in table.metrics}
    assert best == {"acc_fused": ["ave_b"], "acc_visual": [f"ave_a@{'a' * 7}"], "acc_audio": [f"ave_a@{'a' * 7}"]}
    assert table.rows[2].cells["acc_visual"].delta is None  # ave_a is not a published recipe: no delta
    assert table.reference_rows[1].cells["acc_visual"].mean == 79.0


def test_deltas_compare_each_recipe_only_with_the_row_of_its_own_setting() -> None:
    vgg = make_record("vgg", config_name="ave_vgg", metrics={"acc_visual": 62.0, "acc_fused": 60.0})
    omni = make_record("omni", config_name="ave_omnivore_asf", config_hash="d" * 64, metrics={"acc_visual": 70.0})
    epic_1024 = make_record("e1", config_name="epic_av", config_hash="e" * 64, dataset="EPIC100", split="val",
                            main_metric="all_action_accuracy_at_1", metrics={"all_action_accuracy_at_1": 50.0})
    tables = {t.spec.name: t for t in build_tables([vgg, omni, epic_1024], load_references())}
    rows = {r.label: r for r in tables["AVE"].measured_rows}
    assert rows["ave_vgg"].cells["acc_visual"].delta == pytest.approx(62.0 - 79.0)  # the author's rounded 79
    assert rows["ave_vgg"].cells["acc_fused"].delta is None  # nothing published for fused
    assert rows["ave_omnivore_asf"].cells["acc_visual"].delta == pytest.approx(70.0 - 79.851)
    # the published EPIC row used 2048-d Omnivore + VideoMAE features: the 1024-d recipe gets no delta
    assert tables["EPIC100"].measured_rows[0].cells["all_action_accuracy_at_1"].delta is None


def test_seeds_group_by_recipe_hash_when_the_runner_records_one() -> None:
    seeds = [make_record(f"r{s}", seed=s, config_hash=f"{s}" * 64, recipe_hash="r" * 64) for s in (0, 1, 2)]
    (row,) = build_tables(seeds, [])[0].rows
    assert (row.label, row.seeds, row.recipe) == ("ave_a", (0, 1, 2), "r" * 64)
    # without it each seed's config_hash differs, and the runs stay apart rather than being merged by name
    assert len(build_tables([{k: v for k, v in r.items() if k != "recipe_hash"} for r in seeds], [])[0].rows) == 3


def test_no_delta_against_a_row_of_another_split() -> None:
    table = build_tables([make_record(split="val")], load_references())[0]
    assert table.measured_rows[0].cells["acc_visual"].delta is None


def test_epic_columns_follow_the_official_order_and_skip_unreported_metrics() -> None:
    epic = next(t for t in build_tables(records(), load_references()) if t.spec.name == "EPIC100")
    assert epic.metrics == ("all_verb_accuracy_at_1", "all_noun_accuracy_at_1", "all_action_accuracy_at_1",
                            "tim_action_head_top1")
    assert epic.sort_metric == "all_action_accuracy_at_1"
    assert epic.measured_rows[0].cells["all_verb_accuracy_at_1"].delta == pytest.approx(70.0 - 77.1)


def test_filters_by_dataset_date_config_and_metric() -> None:
    recs = records()
    assert {r["run_id"] for r in select_records(recs, datasets=["epic100"])} == {"e0"}
    assert {r["run_id"] for r in select_records(recs, since=parse_since("2026-11-22"))} == {"b0", "a-lr", "e0"}
    assert {r["run_id"] for r in select_records(recs, config_glob="ave_*", since=parse_since("2026-11-22T12:00"))} \
        == {"a-lr"}
    tables = build_tables(recs, load_references(), metrics=["acc_audio", "acc_fused"])
    assert [t.metrics for t in tables] == [("acc_audio", "acc_fused"), ()]
    with pytest.raises(LeaderboardError, match="--metric acc_nope is in none of the selected tables"):
        build_tables(recs, load_references(), metrics=["acc_nope"])
    with pytest.raises(LeaderboardError, match="not an ISO date"):
        parse_since("yesterday")
    assert parse_since("2026-11-22") == datetime(2026, 11, 22, tzinfo=timezone.utc)


def test_a_named_dataset_without_runs_shows_its_published_rows() -> None:
    tables = build_tables([], load_references(), datasets=["PerceptionTest"])
    assert [r.label for r in tables[0].rows] == ["[ref] tim_perception_test_av"]
    assert tables[0].metrics == ("action_top1", "action_top5", "sound_top1", "sound_top5")
    with pytest.raises(LeaderboardError, match="No run or reference row is for dataset 'Kinetics'"):
        build_tables([], load_references(), datasets=["Kinetics"])


def markdown_tables(text: str) -> dict[str, list[list[str]]]:
    """Each '## ... (`DATASET`)' section's pipe table as rows of cells, header first; asserts it is well formed."""
    out = {}
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        name = re.search(r"\(`(\w+)`\)", section.splitlines()[0]).group(1)
        lines = [line for line in section.splitlines() if line.startswith("|")]
        assert re.fullmatch(r"\|(:?-+:?\|)+", lines[1]), lines[1]
        rows = [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in [lines[0], *lines[2:]]]
        assert len({len(r) for r in rows}) == 1 and len(rows[0]) == len(lines[1].split("|")) - 2
        out[name] = rows
    return out


def latex_numbers(text: str) -> dict[str, list[list[float | None]]]:
    """Per table label, the first number (the mean) of each metric cell of each body row."""
    out = {}
    for block in text.split(r"\begin{table}")[1:]:
        name = re.search(r"\\label\{tab:tim-bench-(\w+)\}", block).group(1)
        body = block.split(r"\midrule", 1)[1].split(r"\bottomrule")[0]
        rows = []
        for line in (line for line in body.splitlines() if "&" in line):
            cells = [c.strip() for c in line.rstrip(" \\").split("&")][3:]
            rows.append([None if c == "--" else float(re.search(r"-?\d+\.\d+", c).group()) for c in cells])
        out[name] = rows
    return out


def test_markdown_csv_and_latex_hold_the_same_numbers() -> None:
    tables = build_tables(records(), load_references())
    frame = pd.read_csv(io.StringIO(render_csv(tables)))
    assert frame.equals(pd.read_csv(io.StringIO(tables_frame(tables).to_csv(index=False))))
    assert list(frame["kind"]) == ["reference", "reference", "measured", "measured", "measured", "reference",
                                   "measured"]  # no chance rows: these hand-made records hold no class counts
    md = markdown_tables(render_markdown(tables))
    latex = latex_numbers(render_latex(tables))
    for table in tables:
        rows = frame[frame["dataset"] == table.spec.name]
        assert md[table.spec.name][0][3:] == [table.spec.label(m) for m in table.metrics]
        assert len(md[table.spec.name]) - 1 == len(rows) == len(latex[table.spec.name.lower()])
        for csv_row, md_row, tex_row in zip(rows.itertuples(), md[table.spec.name][1:], latex[table.spec.name.lower()]):
            assert md_row[0] == csv_row.config or md_row[0] == f"[ref] {csv_row.config}"
            for m, tex in zip(table.metrics, tex_row):
                value = getattr(csv_row, m)
                assert (tex is None and pd.isna(value)) or tex == pytest.approx(value, abs=0.005), (m, tex, value)
    assert "**75.00**" in md["AVE"][4][4]  # best fused (ave_b, second by visual), in bold


def test_terminal_marks_best_and_lists_sources() -> None:
    text = render_terminal(build_tables(records(), load_references()))
    assert "AVE (Audio-Visual Event)" in text and "EPIC-KITCHENS-100" in text
    assert "75.00*" in text and "71.00 ± 1.41" in text
    assert "source: author, JacobChalk/TIM issue #18" in text


def test_runs_on_synthetic_data_are_marked_and_not_compared_with_the_paper() -> None:
    real = make_record("real", config_name="ave_vgg", config_hash="b" * 64, metrics={"acc_visual": 80.0})
    fake = make_record("fake", config_name="fake_cfg", synthetic_data=True, metrics={"acc_visual": 90.0})
    table = build_tables([real, fake], load_references())[0]
    labels = {row.label: row for row in table.rows if row.reference is None}
    assert "fake_cfg [synthetic data]" in labels and "ave_vgg" in labels
    assert all(cell.delta is None for cell in labels["fake_cfg [synthetic data]"].cells.values())
    assert labels["ave_vgg"].cells["acc_visual"].delta == pytest.approx(80.0 - 79.0)


def test_records_from_before_the_sampler_was_recorded_are_labelled_bucketed():
    old = make_record()
    del old["sampler"]  # tim-bench up to 92ed185 bucketed every run and did not say so
    new = make_record("20261124T214501-ave_a-s1-000001", config_hash="b" * 64)
    (table,) = build_tables([old, new], [])
    labels = [row.label for row in table.rows]
    assert any("[sampler=bucketed]" in label for label in labels), labels
    assert any("[sampler=" not in label for label in labels), labels


def test_rows_of_one_config_name_are_labelled_by_the_keys_that_differ() -> None:
    base = {"seed": 0, "train_cfg": {"lr": 0.001, "sampler": "uniform", "num_workers": 2}, "model": {"d_model": 512}}

    def run(run_id: str, digest: str, seed: int = 0, **changes) -> dict:
        config = {**base, "seed": seed, "train_cfg": {**base["train_cfg"], **changes.pop("train_cfg", {})}, **changes}
        return make_record(run_id, seed=seed, config_hash=digest * 64, config=config,
                           sampler=config["train_cfg"]["sampler"], metrics={"acc_fused": 1.0})

    recs = [run("a0", "a"), run("a1", "a", seed=1, train_cfg={"num_workers": 8}),  # seed and speed keys: one row
            run("lr", "b", train_cfg={"lr": 0.003}), run("wide", "c", model={"d_model": 1024}),
            run("bucket", "d", train_cfg={"sampler": "bucketed"})]
    labels = [r.label for r in build_tables(recs, [])[0].measured_rows]
    # most rows share lr 0.001 and d_model 512: a row names only where it differs (the sampler has its own tag)
    assert sorted(labels) == ["ave_a", "ave_a (d_model=1024)", "ave_a (lr=0.003)", "ave_a [sampler=bucketed]"]
    two = [run("a0", "a"), run("lr", "b", train_cfg={"lr": 0.003})]  # no common value: both rows name it
    assert sorted(r.label for r in build_tables(two, [])[0].measured_rows) == ["ave_a (lr=0.001)", "ave_a (lr=0.003)"]
    # two shown keys ending alike keep their full names
    clash = [run("a0", "a"), run("x", "b", train_cfg={"lr": 0.003}, model={"d_model": 512, "lr": 0.1})]
    assert sorted(r.label for r in build_tables(clash, [])[0].measured_rows) == [
        "ave_a (model.lr=(absent), train_cfg.lr=0.001)", "ave_a (model.lr=0.1, train_cfg.lr=0.003)"]
    no_config = [make_record("x", config_hash="x" * 64), make_record("y", config_hash="y" * 64)]
    assert sorted(r.label for r in build_tables(no_config, [])[0].measured_rows) == ["ave_a@xxxxxxx", "ave_a@yyyyyyy"]
