"""A bad results store: one bad record is skipped with a warning naming its file (the leaderboard still shows
the others), a bad store folder or output is one clear error, and `compare` refuses predictions that are not
the ones its records were made from.

Each case runs the real CLI in-process (tests/bad_input.py) on a store written by the real ``add_record``.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bad_input import assert_clear_error, assert_warned, run_cli
from test_leaderboard_compare import save_predictions
from test_leaderboard_store import make_record
from tim_bench.io import sha256_file
from tim_bench.leaderboard.errors import LeaderboardError
from tim_bench.leaderboard.store import add_record, check_writable

GOOD = "20261124T214500-ave_good-s0-000000"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store holding one good AVE record."""
    folder = tmp_path / "store"
    add_record(make_record(GOOD, config_name="ave_good"), folder)
    return folder


def _record(**changes: Any) -> Callable[[], str]:
    """The text of an otherwise valid record with ``changes``."""
    def text() -> str:
        record = make_record("bad-run", config_name="ave_bad")
        record.update(changes)
        return json.dumps(record)
    return text


def _metric(value: Any) -> Callable[[], str]:
    return _record(metrics={"acc_fused": 70.0, "acc_visual": value})


def _without(key: str) -> Callable[[], str]:
    def text() -> str:
        record = make_record("bad-run", config_name="ave_bad")
        del record[key]
        return json.dumps(record)
    return text


# (file text, names the warning must contain besides the file name)
BAD_RECORDS = [
    pytest.param(lambda: "{", ["is not valid JSON"], id="truncated-json"),
    pytest.param(lambda: "", ["is not valid JSON"], id="empty-file"),
    pytest.param(lambda: b"\xff\xfe{", ["is not valid JSON"], id="not-utf8"),
    pytest.param(lambda: "[1, 2]", ["holds a JSON list"], id="json-array"),
    pytest.param(lambda: "{}", ["lacks ['run_id'"], id="empty-object"),
    pytest.param(_without("metrics"), ["lacks ['metrics']"], id="no-metrics"),
    pytest.param(_without("created"), ["lacks ['created']"], id="no-created"),
    pytest.param(_metric("abc"), ["metrics 'acc_visual' = 'abc'", "not a finite number"], id="metric-string"),
    pytest.param(_metric(True), ["metrics 'acc_visual' = True"], id="metric-bool"),
    pytest.param(_metric(float("nan")), ["metrics 'acc_visual' = nan"], id="metric-nan-token"),
    pytest.param(_metric(float("inf")), ["metrics 'acc_visual' = inf"], id="metric-infinity-token"),
    pytest.param(_metric([70.0]), ["metrics 'acc_visual' = [70.0]"], id="metric-list"),
    pytest.param(_metric({"mean": 70.0}), ["metrics 'acc_visual' = {'mean': 70.0}"], id="metric-object"),
    pytest.param(_record(metrics=[70.0]), ["has metrics [70.0]"], id="metrics-list"),
    pytest.param(_record(metrics_original_selection={"acc_fused": "n/a"}),
                 ["metrics_original_selection 'acc_fused' = 'n/a'"], id="variant-metric-string"),
    pytest.param(_record(seed="abc"), ["seed 'abc'", "not an integer"], id="seed-string"),
    pytest.param(_record(seed=True), ["seed True"], id="seed-bool"),
    pytest.param(_record(seed=1.5), ["seed 1.5"], id="seed-fraction"),
    pytest.param(_record(created="yesterday"), ["created 'yesterday'", "ISO date-time"], id="created-not-iso"),
    pytest.param(_record(dataset=42), ["dataset 42"], id="dataset-number"),
    pytest.param(_record(run_id=None), ["run_id None"], id="run-id-null"),
    pytest.param(_record(split=""), ["split ''"], id="split-empty"),
]


@pytest.mark.parametrize("text, names", BAD_RECORDS)
def test_a_bad_record_is_skipped_and_the_rest_is_shown(store: Path, text, names: list[str]) -> None:
    bad = store / "bad-run.json"
    content = text()
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    outcome = run_cli(["leaderboard", "--results-dir", str(store), "--format", "csv", "--out", "-"])
    assert_warned(outcome, str(bad), *names)
    assert "ave_good" in outcome.output and "ave_bad" not in outcome.output


def test_duplicate_records_of_one_model_count_once(store: Path) -> None:
    twin = make_record("20261125T000000-ave_good-s0-111111", config_name="ave_good",
                       work_dir=make_record(GOOD)["work_dir"], predictions=make_record(GOOD)["predictions"])
    (store / f"{twin['run_id']}.json").write_text(json.dumps(twin))
    outcome = run_cli(["leaderboard", "--results-dir", str(store), "--format", "csv", "--out", "-"])
    assert_warned(outcome, f"{GOOD}.json", twin["run_id"], "record the same model")
    row = next(line for line in outcome.output.splitlines() if line.startswith("AVE,measured,ave_good"))
    assert ",1,0," in row  # one run, seed 0: not "0 0"


def _file_as_store(tmp: Path) -> list[str]:
    (tmp / "store").write_text("not a folder")
    return ["leaderboard", "--results-dir", str(tmp / "store")]


# (argv builder given tmp_path, names the message must contain)
BAD_FOLDERS = [
    pytest.param(lambda tmp: ["leaderboard", "--results-dir", str(tmp / "missing")],
                 ["missing", "does not exist", "--results-dir"], id="store-missing"),
    pytest.param(_file_as_store, ["store", "is not a folder"], id="store-is-a-file"),
    pytest.param(lambda tmp: _file_as_store(tmp)[:1] + ["--results-dir", str(tmp)] + _file_as_store(tmp)[1:],
                 ["store", "is not a folder"], id="second-store-is-a-file"),
    pytest.param(lambda tmp: ["compare", "a", "b", "--results-dir", str(tmp / "nothing.txt")]
                 if (tmp / "nothing.txt").write_text("x") else [], ["nothing.txt", "is not a folder"],
                 id="compare-store-is-a-file"),
    pytest.param(lambda tmp: ["leaderboard", "--format", "csv", "--out", str(tmp / "file.txt" / "board.csv")]
                 if (tmp / "file.txt").write_text("x") else [], ["board.csv", "Cannot write the leaderboard"],
                 id="output-under-a-file"),
    pytest.param(lambda tmp: ["compare", str(tmp / "gone.json"), "b"], ["gone.json", "does not exist"],
                 id="compare-missing-record-file"),
]


@pytest.mark.parametrize("argv, names", BAD_FOLDERS)
def test_a_bad_store_folder_or_output_is_one_error(tmp_path: Path, monkeypatch, argv, names: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    add_record(make_record(GOOD), tmp_path / "leaderboard" / "results")
    assert_clear_error(run_cli(argv(tmp_path)), *names, code=2)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes any folder; permissions cannot be tested")
def test_unreadable_and_read_only_stores(store: Path) -> None:
    store.chmod(0o000)
    try:
        assert_clear_error(run_cli(["leaderboard", "--results-dir", str(store)]), str(store), "Cannot read", code=2)
    finally:
        store.chmod(0o755)
    store.chmod(0o555)
    try:
        with pytest.raises(LeaderboardError, match="Cannot write to the results store"):
            check_writable(store)
    finally:
        store.chmod(0o755)


def test_writing_into_a_store_that_is_a_file_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    for folder in (tmp_path / "file", tmp_path / "file" / "sub"):
        with pytest.raises(LeaderboardError, match="is not a folder"):
            add_record(make_record("r"), folder)
        with pytest.raises(LeaderboardError, match="is not a folder"):
            check_writable(folder)


def _two_runs(tmp: Path) -> tuple[dict, dict]:
    pa = save_predictions(tmp / "a.npz", ["s1", "s2", "s3"], [0, 1, 2], [0, 1, 0])
    pb = save_predictions(tmp / "b.npz", ["s1", "s2", "s3"], [0, 1, 2], [0, 0, 2])
    return (make_record("run-a", predictions=pa, predictions_sha256=sha256_file(pa)),
            make_record("run-b", predictions=pb, predictions_sha256=sha256_file(pb)))


def _swap_b(tmp: Path, a: dict, b: dict) -> None:
    save_predictions(tmp / "b.npz", ["s1", "s2", "s3"], [0, 1, 2], [2, 2, 2])  # a later run replaced it


# (change to the two records / files, names the message must contain)
BAD_COMPARISONS = [
    pytest.param(_swap_b, ["run-b", "b.npz", "is not the one its record was made from"], id="swapped-predictions"),
    pytest.param(lambda tmp, a, b: (tmp / "b.npz").unlink(), ["run-b", "b.npz", "does not exist", "--metrics-only"],
                 id="missing-predictions"),
    pytest.param(lambda tmp, a, b: b.update(predictions=a["predictions"], predictions_sha256=a["predictions_sha256"]),
                 ["run-a", "run-b", "identical predictions"], id="same-predictions"),
    pytest.param(lambda tmp, a, b: b.update(predictions_sha256="0" * 64), ["run-b", "recorded 000000000000"],
                 id="wrong-recorded-hash"),
    pytest.param(lambda tmp, a, b: b.update(predictions=""), ["run-b", "does not exist"], id="empty-predictions-path"),
    pytest.param(lambda tmp, a, b: b.update(split="val"), ["run-a", "run-b", "same dataset and split"],
                 id="different-split"),
]


@pytest.mark.parametrize("change, names", BAD_COMPARISONS)
def test_compare_refuses_predictions_it_cannot_trust(tmp_path: Path, change, names: list[str]) -> None:
    a, b = _two_runs(tmp_path)
    change(tmp_path, a, b)
    for record in (a, b):
        add_record(record, tmp_path / "store")
    assert_clear_error(run_cli(["compare", "run-a", "run-b", "--results-dir", str(tmp_path / "store")]), *names,
                       code=2)


def test_compare_itself_and_older_records(tmp_path: Path) -> None:
    a, b = _two_runs(tmp_path)
    del a["predictions_sha256"]
    for record in (a, b):
        add_record(record, tmp_path / "store")
    store = str(tmp_path / "store")
    assert_clear_error(run_cli(["compare", "run-a", "run-a", "--results-dir", store]), "both run run-a", code=2)
    outcome = run_cli(["compare", "run-a", "run-b", "--results-dir", store])
    assert_warned(outcome, "run run-a's record has no predictions_sha256", "a.npz", "cannot verify")
    assert "Per stream: paired bootstrap over segments" in outcome.output
