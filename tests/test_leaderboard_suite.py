"""`suite` logic with a stand-in runner (the real runner is in test_suite_launch.py): skipping stored runs, --rerun,
going on past failures, reference checks."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from test_leaderboard_store import make_record
from tim_bench.config import config_hash, load_config, recipe_hash
from tim_bench.data.fingerprint import data_fingerprint
from tim_bench.launch.suite import run_suite
from tim_bench.leaderboard.reference import load_references
from tim_bench.leaderboard.store import add_record, load_records
from tim_bench.leaderboard.suite import check_against_reference, synthetic_runs
from tim_bench_plugins.ave.synthetic import make_ave

REPO_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py"


def write_config(folder: Path, name: str, **lines: str) -> Path:
    """A config inheriting the shipped AVE recipe, with extra ``key = value`` lines."""
    path = folder / f"{name}.py"
    path.write_text("\n".join([f"_base_ = [{str(REPO_CONFIG)!r}]", *(f"{k} = {v}" for k, v in lines.items())]) + "\n")
    return path


class FakeRunner:
    """Stores a record as run_experiment would, without training; fails for configs named in ``fail``."""

    def __init__(self, fail: tuple[str, ...] = ()) -> None:
        self.calls: list[tuple[str, int, str]] = []
        self.fail = fail

    def __call__(self, config: str, options: dict[str, Any], work_dir: str, results_dir: str,
                 resume: bool) -> dict[str, Any]:
        cfg = load_config(config, options)
        self.calls.append((cfg["_name"], cfg.seed, work_dir))
        if cfg["_name"] in self.fail:
            raise RuntimeError(f"{cfg['_name']} exploded")
        fingerprint = data_fingerprint(cfg)
        record = make_record(f"run{len(self.calls)}-{cfg['_name']}-s{cfg.seed}", config_name=cfg["_name"],
                             config_hash=config_hash(cfg), recipe_hash=recipe_hash(cfg, fingerprint["sha256"]),
                             data_fingerprint=fingerprint, seed=cfg.seed, work_dir=work_dir)
        add_record(record, results_dir)
        return record


@pytest.fixture(scope="module")
def tiny_ave(tmp_path_factory) -> str:
    return repr(str(make_ave(tmp_path_factory.mktemp("ave") / "data", videos=30, visual_dim=4, audio_dim=4)))


def test_runs_every_config_and_seed_then_skips_them_unless_rerun(tmp_path: Path, tiny_ave: str) -> None:
    configs = [write_config(tmp_path, "tiny_a", data_root=tiny_ave),
               write_config(tmp_path, "tiny_b", data_root=tiny_ave, model="dict(d_model=16)")]
    store, runner = tmp_path / "store", FakeRunner()
    outcomes = run_suite(configs, [0, 1], results_dir=store, work_root=tmp_path / "work", runner=runner)
    assert [(Path(o.config).stem, o.seed, o.status) for o in outcomes] == \
        [("tiny_a", 0, "ran"), ("tiny_a", 1, "ran"), ("tiny_b", 0, "ran"), ("tiny_b", 1, "ran")]
    work_dirs = [w for *_, w in runner.calls]
    assert len(set(work_dirs)) == 4 and all(Path(w).parent.parent == tmp_path / "work" for w in work_dirs)
    assert len(load_records(store)) == 4

    again = run_suite(configs, [0, 1], results_dir=store, runner=runner)
    assert [o.status for o in again] == ["skipped"] * 4 and len(runner.calls) == 4
    assert {o.record["run_id"] for o in again} == {o.record["run_id"] for o in outcomes}

    rerun = run_suite(configs[:1], [1, 2], results_dir=store, rerun=True, runner=runner)
    assert [o.status for o in rerun] == ["ran", "ran"] and len(load_records(store)) == 6


def test_a_failing_config_does_not_stop_the_others(tmp_path: Path, tiny_ave: str) -> None:
    configs = [write_config(tmp_path, "tiny_bad", data_root=tiny_ave, model="dict(d_model=16)"),
               tmp_path / "missing.py",
               write_config(tmp_path, "tiny_good", data_root=tiny_ave)]
    outcomes = run_suite(configs, [0], results_dir=tmp_path / "store", work_root=tmp_path / "w",
                         runner=FakeRunner(fail=("tiny_bad",)))
    assert [o.status for o in outcomes] == ["failed", "failed", "ran"]
    assert outcomes[0].error == "RuntimeError: tiny_bad exploded"
    assert "missing.py does not exist" in outcomes[1].error
    assert [r["config_name"] for r in load_records(tmp_path / "store")] == ["tiny_good"]
    # the failed pair's claim is marked failed: the next suite runs it again
    again = run_suite(configs[:1], [0], results_dir=tmp_path / "store", work_root=tmp_path / "w", runner=FakeRunner())
    assert [o.status for o in again] == ["ran"]


def test_without_seeds_each_config_runs_with_its_own(tmp_path: Path, tiny_ave: str) -> None:
    config = write_config(tmp_path, "tiny_seeded", seed="7", data_root=tiny_ave)
    (outcome,) = run_suite([config], None, results_dir=tmp_path / "store", work_root=tmp_path / "w",
                           runner=FakeRunner())
    assert (outcome.status, outcome.seed, outcome.record["seed"]) == ("ran", 7, 7)


def test_reference_check_uses_the_published_row_and_tolerance() -> None:
    refs = load_references()
    close = make_record("close", config_name="ave_vgg", metrics={"acc_visual": 77.0, "acc_fused": 10.0})
    far = make_record("far", config_name="ave_vgg", metrics={"acc_visual": 70.0})
    other_split = make_record("val", config_name="ave_vgg", split="val", metrics={"acc_visual": 0.0})
    other_recipe = make_record("other", metrics={"acc_visual": 0.0})  # ave_a: no published row of its setting
    checks = check_against_reference([close, far, other_split, other_recipe], refs)
    assert [(c.run_id, c.metric, c.published, c.passed) for c in checks] == [
        ("close", "acc_visual", 79.0, True), ("far", "acc_visual", 79.0, False)]
    assert all(c.passed for c in check_against_reference([far], refs, tolerance=10.0))  # 9 points off
    assert check_against_reference([far], refs, tolerance=8.0)[0].passed is False
    assert check_against_reference([far], refs)[0].tolerance == pytest.approx(3.0)


def test_synthetic_runs_are_never_checked_against_the_paper() -> None:
    far = make_record("far", config_name="ave_vgg", metrics={"acc_visual": 70.0})
    fake = make_record("fake", synthetic_data=True, metrics={"acc_visual": 10.0})
    assert [c.run_id for c in check_against_reference([far, fake], load_references())] == ["far"]
    assert synthetic_runs([far, fake]) == ["fake"]
