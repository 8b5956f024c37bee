"""The log of a run tells its whole story: environment, resolved config, iteration lines with ETAs, the best
checkpoint and by what, the final metrics and where result.json is; one log per run; metrics.jsonl ends with
the final evaluation."""
from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest

from bad_input import run_cli
from helpers import TINY_MODEL

CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runlog") / "ave"
    made = run_cli(["make-synthetic", "ave", str(root), "--videos", "40", "--visual-dim", "8", "--audio-dim", "6"])
    assert made.code == 0, made.output
    return root


def _train(command: str, data_root: Path, wd: Path, seed: int, *extra: str, epochs: int = 2) -> None:
    outcome = run_cli([command, CONFIG, "--seed", str(seed), "--work-dir", str(wd), *extra, "--cfg-options",
                       f"data_root={data_root}", f"train_cfg.max_epochs={epochs}", "train_cfg.batch_size=4",
                       "train_cfg.log_interval=3", *TINY_MODEL])
    assert outcome.code == 0, outcome.output


@pytest.fixture(scope="module")
def run_dir(data_root, tmp_path_factory) -> Path:
    wd = tmp_path_factory.mktemp("runs") / "a"
    _train("run", data_root, wd, 5, "--results-dir", str(wd.parent / "store"))
    return wd


@pytest.mark.slow  # trains a run (module fixture)
def test_log_starts_with_the_environment_and_the_resolved_config(run_dir):
    log = (run_dir / "log.txt").read_text()
    head, _, rest = log.partition("Resolved config")
    for key in ("python", "torch", "CUDA", "tim-bench", "command"):
        assert re.search(rf"^{key}\s+: \S", head, re.M), key
    assert re.search(r"tim-bench \S+ \((git [0-9a-f]{12}(, dirty)?|not a git checkout)\)", head)
    assert re.search(r"^seed = 5$", rest, re.M) and "log_interval=3" in rest


@pytest.mark.slow  # trains a run (module fixture)
def test_log_has_iteration_lines_with_times_and_etas(run_dir):
    lines = re.findall(r"epoch (\d)/2 iter (\d+)/(\d+): loss [\d.]+ lr [\d.e+-]+ data [\d.]+ s step [\d.]+ s"
                       r"( mem \d+ MB)? eta epoch \d+:\d\d:\d\d run \d+:\d\d:\d\d", (run_dir / "log.txt").read_text())
    iters = int(lines[0][2])  # 40 videos: 32 train videos x 10 s = 320 segments, 32 windows, batch 4
    expected = [(str(e), str(i)) for e in (1, 2) for i in (*range(3, iters + 1, 3), iters)]
    assert [(e, i) for e, i, *_ in lines] == list(dict.fromkeys(expected))


@pytest.mark.slow  # trains a run (module fixture)
def test_log_names_the_best_checkpoint_and_ends_with_final_metrics_and_result(run_dir):
    log = (run_dir / "log.txt").read_text()
    result = json.loads((run_dir / "result.json").read_text())
    best = re.findall(r"saved best checkpoint \S*best\.pth: epoch (\d+), by acc_visual", log)
    assert best and int(best[-1]) == result["best_epoch"]
    final = re.search(rf"final metrics on split 'test' \(best checkpoint, epoch {result['best_epoch']}\): (.*)", log)
    assert final and f"acc_fused={result['metrics']['acc_fused']:.4f}" in final.group(1)
    assert log.rstrip().splitlines()[-1].endswith(f"result: {run_dir.resolve() / 'result.json'}")
    assert "\r" not in log  # no progress-bar lines in a file


@pytest.mark.slow  # trains a run (module fixture)
def test_metrics_jsonl_ends_with_the_final_evaluation(run_dir):
    *epochs, final = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    result = json.loads((run_dir / "result.json").read_text())
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert final == {"final": True, "split": "test", "checkpoint_epoch": result["best_epoch"],
                     "metrics": {k: round(v, 4) for k, v in result["metrics"].items()}}  # 4 decimals (rounding.py)
    for epoch in epochs:  # each value to its precision: losses 5 significant digits, lr 4, metrics 4 decimals
        assert epoch["train_loss"] == float(f"{epoch['train_loss']:.5g}") and epoch["lr"] == float(f"{epoch['lr']:.4g}")
        assert all(v == round(v, 4) for v in epoch["val"].values()) and epoch["time_s"] == round(epoch["time_s"], 2)


@pytest.mark.slow  # trains a run (module fixture)
def test_each_run_has_its_own_log_never_appended_to(data_root, run_dir, tmp_path):
    before = (run_dir / "log.txt").read_text()
    other = tmp_path / "b"
    _train("train", data_root, other, 6, epochs=1)
    _train("train", data_root, other, 7, "--overwrite", epochs=1)  # the same folder again: a new log
    log = (other / "log.txt").read_text()
    assert log.count("Resolved config") == 1 and re.search(r"^seed = 7$", log, re.M)
    assert not re.search(r"^seed = 6$", log, re.M)
    assert (run_dir / "log.txt").read_text() == before  # runs later in this process write to their own logs


@pytest.mark.slow  # trains a run (module fixture)
def test_the_built_in_run_finished_hooks_store_the_record_and_draw_the_plots(run_dir):
    from tim_bench_registry import plugin_manager
    impls = plugin_manager().hook.tim_bench_run_finished.get_hookimpls()
    ours = [i.function.__name__ for i in reversed(impls) if i.plugin_name == "tim_bench.leaderboard.run_finished"]
    assert ours == ["store_record", "draw_run_plots"]  # pluggy calls in this order: the store first
    stored = list((run_dir.parent / "store").glob("*.json"))
    assert len(stored) == 1 and json.loads(stored[0].read_text()) == json.loads((run_dir / "result.json").read_text())
    assert (run_dir / "plots" / "curves.png").is_file() and (run_dir / "plots" / "confusion_visual_event.png").is_file()
    assert json.loads(stored[0].read_text())["config"]["train_cfg"]["log_interval"] == 3  # the resolved config


def test_tensorboard_without_the_package_is_a_clear_error_before_training(data_root, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as when it is not installed
    outcome = run_cli(["train", CONFIG, "--work-dir", str(tmp_path / "tb"), "--cfg-options", f"data_root={data_root}",
                       "train_cfg.max_epochs=1", "train_cfg.tensorboard=True", *TINY_MODEL])
    assert outcome.code == 2 and "Traceback" not in outcome.output
    assert "train_cfg.tensorboard=True needs the tensorboard package" in outcome.output
    assert not (tmp_path / "tb" / "last.pth").exists()


@pytest.mark.slow
def test_tensorboard_logs_the_iterations_and_epochs(data_root, tmp_path):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed; it is the optional tensorboard extra "
                                              "(pip install -e '.[tensorboard]')")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    wd = tmp_path / "tb"
    _train("train", data_root, wd, 3, "--cfg-options", "train_cfg.tensorboard=True")
    board = EventAccumulator(str(wd / "tensorboard"))
    board.Reload()
    history = [json.loads(line) for line in (wd / "metrics.jsonl").read_text().splitlines()]
    assert [e.step for e in board.Scalars("val/acc_fused")] == [1, 2]
    assert [round(e.value, 4) for e in board.Scalars("val/acc_fused")] == [h["val"]["acc_fused"] for h in history]
    iters = len(board.Scalars("train/loss"))
    assert iters >= 4 and set(board.Tags()["scalars"]) >= {"train/lr", "epoch/train_loss", "epoch/lr"}


@pytest.mark.slow
def test_progress_bars_on_a_terminal_show_the_current_loss_and_lr(data_root, tmp_path, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True
    from tim_bench.cli.main import main
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)  # main itself, not run_cli: that would capture stderr in a buffer
    wd = tmp_path / "bars"
    assert main(["train", CONFIG, "--work-dir", str(wd), "--cfg-options", f"data_root={data_root}",
                 "train_cfg.max_epochs=1", "train_cfg.batch_size=4", "train_cfg.log_interval=3", *TINY_MODEL]) == 0
    bars = re.findall(r"epoch 1/1: .*?loss=([\d.]+), lr=([\d.e+-]+)", screen.getvalue())
    [epoch] = [json.loads(line) for line in (wd / "metrics.jsonl").read_text().splitlines()]
    last_logged = re.findall(r"iter \d+/\d+: loss ([\d.]+)", (wd / "log.txt").read_text())[-1]
    assert len(bars) >= 2 and bars[-1][1] == f"{epoch['lr']:.2e}"  # the last step's lr, not the first's
    assert abs(float(bars[-1][0]) - float(last_logged)) < 6e-4  # and the last step's loss


def test_a_run_refuses_to_start_when_the_results_store_hook_is_not_registered(data_root, tmp_path):
    from tim_bench.leaderboard import run_finished
    from tim_bench_registry import plugin_manager
    pm = plugin_manager()
    pm.unregister(run_finished)  # as in a checkout installed before the run_finished entry point existed
    try:
        outcome = run_cli(["run", CONFIG, "--work-dir", str(tmp_path / "r"), "--cfg-options", f"data_root={data_root}",
                           "train_cfg.max_epochs=1", *TINY_MODEL])
    finally:
        pm.register(run_finished, name=run_finished.__name__)
    assert outcome.code == 2 and "is not registered, so this run would not be recorded" in outcome.output
    assert not (tmp_path / "r" / "last.pth").exists()
