"""End to end through the real CLI: make synthetic AVE, run, resume after a kill, and read the outputs back."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers import TINY_MODEL, tim_bench, tim_bench_exe
from tim_bench_registry.predictions import Predictions

CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py")


@pytest.fixture(scope="module")
def ave_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ave")
    tim_bench("make-synthetic", "ave", str(root), "--videos", "120", "--visual-dim", "32", "--audio-dim", "16")
    return root


@pytest.mark.slow
def test_run_learns_far_above_chance_and_writes_every_output(ave_root, tmp_path):
    wd, store = tmp_path / "wd", tmp_path / "store"
    # the original's cosine spans every iteration from step 0, so a 15-epoch run needs a higher lr than 100 epochs
    proc = tim_bench("run", CONFIG, "--work-dir", str(wd), "--results-dir", str(store), "--cfg-options",
                     f"data_root={ave_root}", "train_cfg.max_epochs=15", "train_cfg.batch_size=8",
                     "train_cfg.warmup_epochs=1", "train_cfg.lr=1e-3", "model.d_model=64", "model.num_layers=2")
    result = json.loads((wd / "result.json").read_text())
    assert result["config_name"] == "ave_vgg" and result["dataset"] == "AVE" and result["split"] == "test"
    assert set(result["metrics"]) == {"acc_visual", "acc_audio", "acc_fused"}
    # chance is 1/29 = 3.4 %
    assert result["metrics"]["acc_visual"] > 50 and result["metrics"]["acc_fused"] > 40, result["metrics"]
    assert result["epochs_trained"] == 15 and 1 <= result["best_epoch"] <= 15
    for key in ("seed", "git_revision", "torch_version", "device", "wall_time_s", "config_hash", "features"):
        assert key in result
    assert "acc_fused" in proc.stdout
    preds = Predictions.load(result["predictions"])
    assert len(preds.task("visual_event").ids) == 12 * 10  # 12 test videos x 10 seconds
    assert preds.meta["synthetic_data"] is True  # saved with them, so `submit` warns whoever has only the file
    *epochs, final = [json.loads(line) for line in (wd / "metrics.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in epochs] == list(range(1, 16))
    assert final["metrics"] == {k: round(v, 4) for k, v in result["metrics"].items()}  # metrics.jsonl: 4 decimals
    assert (wd / "best.pth").is_file() and (wd / "last.pth").is_file() and (wd / "log.txt").is_file()
    assert len(list(store.glob("*.json"))) == 1


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_end(ave_root, tmp_path):
    args = [CONFIG, "--cfg-options", f"data_root={ave_root}", "train_cfg.max_epochs=3", "train_cfg.batch_size=2",
            "train_cfg.warmup_epochs=1", *TINY_MODEL]
    full = tmp_path / "full"
    tim_bench("train", *args, "--work-dir", str(full))

    cut = tmp_path / "cut"
    exe = tim_bench_exe()
    proc = subprocess.Popen([exe, "train", *args, "--work-dir", str(cut)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while not (cut / "metrics.jsonl").is_file() and time.time() < deadline:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (cut / "metrics.jsonl").is_file(), "the run did not finish its first epoch within 120 s"
    done = [json.loads(line)["epoch"] for line in (cut / "metrics.jsonl").read_text().splitlines()]
    assert done and done[-1] < 3, "the run finished before it could be killed; make epochs longer"

    tim_bench("train", *args, "--work-dir", str(cut), "--resume")
    resumed = [json.loads(line) for line in (cut / "metrics.jsonl").read_text().splitlines()]
    reference = [json.loads(line) for line in (full / "metrics.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in resumed] == [1, 2, 3]
    assert "resumed from" in (cut / "log.txt").read_text()
    for a, b in zip(resumed, reference):  # same seeds per epoch: the resumed run retraces the uninterrupted one
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["val"] == pytest.approx(b["val"], rel=1e-4)


@pytest.mark.slow
def test_early_stopping_ends_the_run_when_the_main_metric_stalls(ave_root, tmp_path):
    # lr 0: the model never changes, so the main metric (acc_visual) never beats epoch 1 and patience 2 stops
    # after epoch 3
    proc = tim_bench("train", CONFIG, "--work-dir", str(tmp_path), "--cfg-options", f"data_root={ave_root}",
                     "train_cfg.max_epochs=10", "train_cfg.lr=0.0", "train_cfg.min_lr=0.0",
                     "train_cfg.early_stop_patience=2", *TINY_MODEL)
    history = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    # the stalls count from the visual best, which (as the original's meters) starts at 0: a visual accuracy of 0
    # at epoch 1 is no best, so that stall counts too
    last = 3 if history[0]["val"]["acc_visual"] > 0 else 2
    assert [h["epoch"] for h in history] == list(range(1, last + 1)) and f"best epoch 1 of {last}" in proc.stdout
    assert "early stop" in (tmp_path / "log.txt").read_text()


KILL_HOOK = '''
"""Test plugin: SIGKILLs the run at the moment result.json is written and the results store not yet told."""
import os
import signal

from tim_bench_registry import hookimpl


@hookimpl(hookwrapper=True, specname="tim_bench_run_finished")
def kill_before_the_record():
    if os.environ.get("KILL_BEFORE_RECORD"):
        os.kill(os.getpid(), signal.SIGKILL)
    yield
'''


@pytest.mark.slow
def test_a_run_killed_between_result_json_and_its_record_is_recorded_once_by_resume(ave_root, tmp_path):
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "kill_before_record.py").write_text(KILL_HOOK)
    config = tmp_path / "ave_killed.py"
    config.write_text(f"_base_ = [{CONFIG!r}]\ncustom_imports = dict(imports=['kill_before_record'])\n")
    wd, store = tmp_path / "wd", tmp_path / "store"
    args = ["run", str(config), "--work-dir", str(wd), "--results-dir", str(store), "--cfg-options",
            f"data_root={ave_root}", "train_cfg.max_epochs=1", "train_cfg.batch_size=16", *TINY_MODEL]
    env = {"PYTHONPATH": str(tmp_path / "plugins")}
    killed = tim_bench(*args, env={**env, "KILL_BEFORE_RECORD": "1"}, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr  # a real kill, after result.json, before the record
    result = json.loads((wd / "result.json").read_text())
    assert not list(store.glob("*.json"))

    resumed = tim_bench(*args, "--resume", env=env)
    assert "the results store lacks its record" in resumed.stdout + resumed.stderr
    assert "resumed from" not in (wd / "log.txt").read_text()  # nothing trained again
    assert [json.loads(p.read_text())["run_id"] for p in store.glob("*.json")] == [result["run_id"]]
    assert json.loads((wd / "result.json").read_text()) == result

    again = tim_bench(*args, "--resume", env=env, check=False)  # recorded now: a second resume has nothing to do
    assert again.returncode != 0 and "would record the same model twice" in again.stderr + again.stdout
    assert len(list(store.glob("*.json"))) == 1


@pytest.mark.slow
def test_scoring_the_training_split_is_warned_recorded_and_marked_in_the_leaderboard(ave_root, tmp_path):
    wd, store = tmp_path / "wd", tmp_path / "store"
    proc = tim_bench("run", CONFIG, "--work-dir", str(wd), "--results-dir", str(store), "--cfg-options",
                     f"data_root={ave_root}", "train_cfg.max_epochs=1", "train_cfg.batch_size=16", "splits.test=train",
                     *TINY_MODEL)
    assert "warning: splits.test='train' is the training split" in proc.stdout + proc.stderr
    record = json.loads((wd / "result.json").read_text())
    assert record["split"] == "train" and record["scored_on_training_data"] == ["test"]
    board = tim_bench("leaderboard", "--results-dir", str(store))
    assert "[scored on train]" in board.stdout


def test_an_evaluation_split_with_the_training_segments_is_the_training_data_not_a_leak(tmp_path):
    import dataclasses
    from tim_bench.data.rules import check_disjoint, is_training_data, same_segments
    from tim_bench_plugins.ave.dataset import AVE
    from tim_bench_plugins.ave.synthetic import make_ave
    plugin = AVE(str(make_ave(tmp_path / "ave", videos=30, visual_dim=4, audio_dim=4)))
    train, again, val = plugin.load("train"), plugin.load("train"), plugin.load("val")
    assert same_segments(train, again) and not same_segments(train, val)
    assert is_training_data([train], [again])  # one file read twice: warned by the engine
    copy = dataclasses.replace(again, source="copy_of_train.csv")
    assert not is_training_data([train], [copy])  # two files with the same rows: a leak
    with pytest.raises(Exception, match="copy_of_train.csv share"):
        check_disjoint([train], [copy], "train", "copy")
