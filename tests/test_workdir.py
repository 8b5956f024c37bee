"""Run folders: one process per work dir, one folder per run, one record per trained model."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bad_input import assert_clear_error, assert_warned, run_cli
from helpers import TEST_BUDGET_S, TINY_MODEL, run_bounded, tim_bench_exe
from tim_bench.io import sha256_file
from tim_bench.runner.workdir import LOCK, new_run_dir
from tim_bench_plugins.ave.synthetic import make_ave

CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py")


@pytest.fixture(scope="module")
def ave(tmp_path_factory) -> Path:
    return make_ave(tmp_path_factory.mktemp("ave"), videos=30, visual_dim=8, audio_dim=4)


def _options(ave: Path, *extra: str) -> list[str]:
    return ["--cfg-options", f"data_root={ave}", *TINY_MODEL, "train_cfg.max_epochs=1", "train_cfg.warmup_epochs=0",
            *extra]


def _records(store: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(store.glob("*.json"))]


@pytest.mark.slow
def test_two_runs_into_one_work_dir_at_once_one_trains_the_other_refuses(ave, tmp_path):
    wd, store = tmp_path / "wd", tmp_path / "store"
    argv = [tim_bench_exe(), "run", CONFIG, "--work-dir", str(wd), "--results-dir", str(store),
            *_options(ave, "train_cfg.max_epochs=3")]
    first = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + TEST_BUDGET_S
    while not (wd / LOCK).is_file() and first.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert (wd / LOCK).is_file(), "the first run never locked its work dir"
    second = run_bounded(argv, capture_output=True, text=True)
    out, err = first.communicate(timeout=TEST_BUDGET_S)
    assert first.returncode == 0, out + err
    assert second.returncode == 2 and "Traceback" not in second.stderr, second.stderr
    assert "in use by another tim-bench process" in second.stderr and f"pid {first.pid}" in second.stderr
    assert socket.gethostname() in second.stderr
    (record,) = _records(store)  # exactly one run trained and was recorded
    assert record["epochs_trained"] == 3 and not (wd / LOCK).exists()
    assert (wd / "log.txt").read_text().count("work dir:") == 1  # the refused run never wrote to its log


@pytest.mark.slow
def test_two_runs_of_one_config_without_work_dir_keep_their_own_files(ave, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "store"
    for seed in (0, 1):
        outcome = run_cli(["run", CONFIG, "--results-dir", str(store), *_options(ave, f"seed={seed}")])
        assert outcome.code == 0, outcome.output
    records = _records(store)
    folders = {Path(r["work_dir"]) for r in records}
    assert len(records) == 2 and len(folders) == 2
    assert all(f.parent == (tmp_path / "work_dirs" / "ave_vgg").resolve() for f in folders)
    for record in records:
        predictions = Path(record["predictions"])
        assert predictions.parent == Path(record["work_dir"]) and predictions.is_file()
        assert record["predictions_sha256"] == sha256_file(predictions)  # still the file it was made from
    assert records[0]["predictions_sha256"] != records[1]["predictions_sha256"]
    assert (tmp_path / "work_dirs" / "ave_vgg" / "window_cache").is_dir()  # one cache for the config's runs


def test_run_folders_are_unique_even_within_one_second(tmp_path):
    made = [new_run_dir(tmp_path / "work_dirs" / "cfg") for _ in range(3)]
    assert len(set(made)) == 3 and all(p.is_dir() for p in made)
    assert made[1].name == f"{made[0].name}_1" or made[1].name > made[0].name


@pytest.mark.slow
def test_resume_without_work_dir_continues_the_latest_unfinished_run(ave, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli(["train", CONFIG, *_options(ave)]).code == 0
    (trained,) = [p for p in (tmp_path / "work_dirs" / "ave_vgg").iterdir() if p.name != "window_cache"]
    outcome = run_cli(["run", CONFIG, "--resume", "--results-dir", str(tmp_path / "store"), *_options(ave)])
    assert outcome.code == 0, outcome.output
    assert "continuing the latest unfinished run" in outcome.output and str(trained) in outcome.output
    (record,) = _records(tmp_path / "store")
    assert Path(record["work_dir"]) == trained.resolve() and (trained / "result.json").is_file()


@pytest.mark.slow
def test_resume_on_a_finished_run_adds_no_second_record(ave, tmp_path):
    wd, store = tmp_path / "wd", tmp_path / "store"
    assert run_cli(["run", CONFIG, "--work-dir", str(wd), "--results-dir", str(store), *_options(ave)]).code == 0
    result = (wd / "result.json").read_text()
    outcome = run_cli(["run", CONFIG, "--work-dir", str(wd), "--results-dir", str(store), "--resume", *_options(ave)])
    assert_clear_error(outcome, str(wd), "finished run", json.loads(result)["run_id"], code=2)
    assert len(_records(store)) == 1 and (wd / "result.json").read_text() == result

    # a stale best.pth of another config, left where this config's resumable run lives, is never evaluated
    other = tmp_path / "other"
    assert run_cli(["train", CONFIG, "--work-dir", str(other), *_options(ave, "train_cfg.lr=0.001")]).code == 0
    resumable = tmp_path / "resumable"
    assert run_cli(["train", CONFIG, "--work-dir", str(resumable), *_options(ave)]).code == 0
    (resumable / "best.pth").write_bytes((other / "best.pth").read_bytes())
    outcome = run_cli(["run", CONFIG, "--work-dir", str(resumable), "--results-dir", str(store), "--resume",
                       *_options(ave)])
    assert_clear_error(outcome, str(resumable / "best.pth"), "not written by this run's config", code=2)
    assert len(_records(store)) == 1 and not (resumable / "result.json").exists()

    # --overwrite trains the finished folder again (here another seed: another model): a new record of its own
    outcome = run_cli(["run", CONFIG, "--work-dir", str(wd), "--results-dir", str(store), "--overwrite",
                       *_options(ave, "seed=3")])
    assert outcome.code == 0, outcome.output
    assert len(_records(store)) == 2
    assert json.loads((wd / "result.json").read_text())["run_id"] != json.loads(result)["run_id"]


def test_stale_lock_of_a_dead_process_is_taken_over(ave, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    wd = tmp_path / "wd"
    wd.mkdir()
    (wd / LOCK).write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "command": "run",
                                       "started": "2024-01-01T00:00:00"}))
    outcome = run_cli(["train", CONFIG, "--work-dir", str(wd), *_options(ave)])
    assert_warned(outcome, LOCK, f"pid {pid}", "no longer runs")
    assert (wd / "best.pth").is_file() and not (wd / LOCK).exists()
    assert not os.path.exists(f"/proc/{pid}")
