"""The results store: one file per run, complete or absent, never overwritten; lookup by id, prefix or path."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tim_bench.leaderboard.errors import LeaderboardError
from tim_bench.leaderboard.store import RECORD_KEYS, add_record, find_record, load_records, read_record


def make_record(run_id: str = "20261124T214500-ave_a-s0-000000", **overrides: Any) -> dict[str, Any]:
    """A complete run record with made-up values (shared by the leaderboard tests); each run id its own files."""
    record = {
        "run_id": run_id, "config_name": "ave_a", "config_path": "/configs/ave_a.py", "config_hash": "a" * 64,
        "dataset": "AVE", "features": {"visual": "VGG-19 7x7x512", "audio": "VGGish 128"},
        "model": "TIM d32 L1 H8 +AVGA", "seed": 0, "split": "test",
        "metrics": {"acc_fused": 70.0, "acc_visual": 60.0, "acc_audio": 50.0},
        "val_metrics": {"acc_fused": 71.0}, "main_metric": "acc_fused", "epochs_trained": 1, "best_epoch": 1,
        "wall_time_s": 1.5, "device": "cpu", "torch_version": "2.13.0", "package_versions": {"torch": "2.13.0"},
        "git_revision": None, "git_dirty": None, "work_dir": f"/nonexistent/{run_id}",
        "predictions": f"/nonexistent/{run_id}/p.npz",
        "created": "2026-11-24T21:45:00+00:00", "sampler": "uniform",
        # what data it scored: runs of one fingerprint are compared with each other in leaderboard columns
        "data_fingerprint": {"sha256": "d" * 64, "annotations": {"sha256": "f" * 64, "splits": {"test": 10}}},
    }
    record.update(overrides)
    return record


def test_add_record_writes_one_readable_file_per_run(tmp_path: Path) -> None:
    path = add_record(make_record(), tmp_path)
    assert path == tmp_path / "20261124T214500-ave_a-s0-000000.json"
    assert json.loads(path.read_text()) == make_record()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_add_record_defaults_to_the_store_the_environment_names(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TIM_BENCH_RESULTS", str(tmp_path / "store"))
    path = add_record(make_record(), None)
    assert path.parent == tmp_path / "store"


def test_add_record_refuses_to_overwrite_and_keeps_the_first(tmp_path: Path) -> None:
    add_record(make_record(metrics={"acc_fused": 1.0}), tmp_path)
    with pytest.raises(LeaderboardError, match="already holds"):
        add_record(make_record(metrics={"acc_fused": 2.0}), tmp_path)
    assert load_records(tmp_path)[0]["metrics"] == {"acc_fused": 1.0}
    assert len(list(tmp_path.iterdir())) == 1


def test_add_record_names_missing_keys_and_bad_ids(tmp_path: Path) -> None:
    record = make_record()
    del record["git_dirty"], record["seed"]
    with pytest.raises(LeaderboardError, match=r"lacks keys \['seed', 'git_dirty'\]"):
        add_record(record, tmp_path)
    with pytest.raises(LeaderboardError, match="cannot be a file name"):
        add_record(make_record(run_id="../escape"), tmp_path)
    assert set(make_record()) - {"sampler", "data_fingerprint"} == set(RECORD_KEYS)  # optional: older records lack them


def test_numpy_values_and_nan_become_plain_json(tmp_path: Path) -> None:
    path = add_record(make_record(metrics={"acc_fused": np.float32(0.5), "acc_audio": float("nan")},
                                  seed=np.int64(3)), tmp_path)
    text = path.read_text()
    assert "NaN" not in text
    assert json.loads(text)["metrics"] == {"acc_fused": 0.5, "acc_audio": None} and json.loads(text)["seed"] == 3


def test_load_records_merges_folders_oldest_first(tmp_path: Path) -> None:
    add_record(make_record("r-new", created="2026-11-25T00:00:00+00:00"), tmp_path / "a")
    add_record(make_record("r-old", created="2026-11-20T00:00:00+00:00"), tmp_path / "b")
    assert [r["run_id"] for r in load_records([tmp_path / "a", tmp_path / "b", tmp_path / "missing"])] == \
        ["r-old", "r-new"]


def test_a_broken_store_file_is_skipped_with_a_warning_naming_it(tmp_path: Path, caplog) -> None:
    add_record(make_record("good"), tmp_path)
    (tmp_path / "broken.json").write_text("{")
    assert [r["run_id"] for r in load_records(tmp_path)] == ["good"]
    assert "broken.json is not valid JSON" in caplog.text and "warning: skipped" in caplog.text
    with pytest.raises(LeaderboardError, match=r"broken\.json is not valid JSON"):
        read_record(tmp_path / "broken.json")
    (tmp_path / "broken.json").write_text("{}")
    with pytest.raises(LeaderboardError, match=r"broken\.json is not a run record"):
        read_record(tmp_path / "broken.json")


def test_find_record_by_id_prefix_path_and_work_dir(tmp_path: Path) -> None:
    store = tmp_path / "store"
    add_record(make_record("20261124T1-ave_a-s0-aaaaaa"), store)
    add_record(make_record("20261124T1-ave_a-s1-bbbbbb"), store)
    assert find_record("20261124T1-ave_a-s1-bbbbbb", store)["run_id"].endswith("bbbbbb")
    assert find_record("20261124T1-ave_a-s0", store)["run_id"].endswith("aaaaaa")
    with pytest.raises(LeaderboardError, match="ambiguous"):
        find_record("20261124T1", store)
    with pytest.raises(LeaderboardError, match=r"No run 'zzz' in the results store .*store"):
        find_record("zzz", store)
    work = tmp_path / "work"
    work.mkdir()
    (work / "result.json").write_text(json.dumps(make_record("from-work-dir")))
    assert find_record(str(work), store)["run_id"] == "from-work-dir"
    assert find_record(str(work / "result.json"), store)["run_id"] == "from-work-dir"


def test_one_model_gets_one_record(tmp_path: Path) -> None:
    add_record(make_record("first"), tmp_path)
    again = make_record("second", work_dir=make_record("first")["work_dir"],
                        predictions=make_record("first")["predictions"])
    with pytest.raises(LeaderboardError, match=r"already holds .*first\.json, a record of the same model"):
        add_record(again, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["first.json"]
    # a different predictions hash in the same work dir is another model
    add_record(make_record("third", work_dir="/nonexistent/first", predictions_sha256="b" * 64), tmp_path)
    assert len(load_records(tmp_path)) == 2


def test_old_stores_with_duplicates_count_each_model_once(tmp_path: Path, caplog) -> None:
    old, new = make_record("old", created="2026-11-20T00:00:00+00:00"), make_record("new")
    new.update(work_dir=old["work_dir"], predictions=old["predictions"])
    for record in (old, new):  # written straight to disk, as an older tim-bench did
        (tmp_path / f"{record['run_id']}.json").write_text(json.dumps(record))
    assert [r["run_id"] for r in load_records(tmp_path)] == ["new"]
    assert "old.json and" in caplog.text and "record the same model" in caplog.text


def test_run_record_is_the_schema_of_the_store_and_old_records_still_load(tmp_path: Path) -> None:
    from tim_bench_registry import RunRecord
    # a record as tim-bench stored it before recipe_hash, sampler, predictions_sha256 and config were recorded
    old = {k: v for k, v in make_record("old").items() if k != "sampler"}
    (tmp_path / "old.json").write_text(json.dumps({**old, "legacy_note": "kept"}))
    [loaded] = load_records(tmp_path)
    record = RunRecord.from_dict(loaded)
    assert record.run_id == "old" and record.metrics == old["metrics"] and record.recipe_hash is None
    assert record.config is None and record.extra == {"legacy_note": "kept"}  # unknown keys survive
    assert loaded == {**old, "legacy_note": "kept"}  # read back as written: nothing invented, nothing dropped

    new = RunRecord.from_dict({**make_record("new", work_dir="/nonexistent/new2"), "recipe_hash": "r" * 64,
                               "config": {"seed": 0, "train_cfg": {"lr": 0.001}}})
    path = add_record(new, tmp_path)
    assert RunRecord.from_dict(json.loads(path.read_text())) == new
    assert "load_from" not in json.loads(path.read_text())  # an optional key left unset is not written
    partial = make_record("partial")
    del partial["device"]
    with pytest.raises(LeaderboardError, match=r"lacks keys \['device'\]"):
        add_record(partial, tmp_path)
