"""Bad checkpoints, work dirs and results folders: one clear error (naming the file or folder) before any
training where it can be known then, never a traceback and never an old checkpoint evaluated."""
from __future__ import annotations

import errno
import json
import os
import pickle
import re
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from bad_input import assert_clear_error, run_cli
from helpers import TINY_MODEL
from tim_bench.io import write_atomic
from tim_bench_plugins.ave.synthetic import make_ave

CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py")
ROOT_USER = os.geteuid() == 0  # root writes into read-only folders: those cases only mean something for users


class Meter:
    """Stands in for the Python objects the original TIM pickles into its checkpoints."""


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """(synthetic AVE root, a finished `train` work dir holding best.pth and last.pth)."""
    base = tmp_path_factory.mktemp("runs")
    ave = make_ave(base / "ave", videos=30, visual_dim=8, audio_dim=4)
    wd = base / "trained"
    outcome = run_cli(["train", CONFIG, "--work-dir", str(wd), "--cfg-options", *_options(ave)])
    assert outcome.code == 0, outcome.output
    return ave, wd


def _options(ave: Path, *extra: str) -> list[str]:
    return [f"data_root={ave}", *TINY_MODEL, "train_cfg.max_epochs=1", "train_cfg.warmup_epochs=0", *extra]


def _truncated(src: Path, dst: Path) -> None:
    dst.write_bytes(src.read_bytes()[: src.stat().st_size // 2])


def _with_weight(value: float) -> Callable[[Path, Path], None]:
    def make(src: Path, dst: Path) -> None:
        ckpt = torch.load(src, weights_only=True)
        key = sorted(ckpt["model"])[3]
        ckpt["model"][key] = ckpt["model"][key].clone().fill_(value)
        torch.save(ckpt, dst)
    return make


def _with_globals(legacy: bool) -> Callable[[Path, Path], None]:
    def make(src: Path, dst: Path) -> None:
        ckpt = torch.load(src, weights_only=True)
        ckpt["meters"] = Meter()
        torch.save(ckpt, dst, _use_new_zipfile_serialization=not legacy)
    return make


# (how to make the bad checkpoint from a good one, names in the message, must NOT appear in the message)
CHECKPOINTS = [
    pytest.param(_truncated, ["bad.pth", "not a readable torch checkpoint"], "--trust-checkpoint", id="truncated"),
    pytest.param(lambda s, d: d.write_bytes(os.urandom(4096)), ["bad.pth", "not a readable"], "--trust-checkpoint",
                 id="garbage-bytes"),
    pytest.param(lambda s, d: d.write_bytes(b""), ["bad.pth", "empty"], "--trust-checkpoint", id="empty-file"),
    pytest.param(lambda s, d: d.write_text("model weights here\n"), ["bad.pth", "not a readable"],
                 "--trust-checkpoint", id="text-file"),
    pytest.param(lambda s, d: d.write_bytes(b"PK\x03\x04" + os.urandom(200)), ["bad.pth", "not a readable"],
                 "--trust-checkpoint", id="broken-zip"),
    pytest.param(lambda s, d: d.mkdir(), ["bad.pth", "is a folder"], None, id="directory"),
    pytest.param(lambda s, d: None, ["bad.pth", "does not exist"], None, id="missing"),
    pytest.param(_with_weight(float("nan")), ["bad.pth", "NaN/inf", "weight '"], None, id="nan-weights"),
    pytest.param(_with_weight(float("inf")), ["bad.pth", "NaN/inf"], None, id="inf-weights"),
    pytest.param(_with_globals(False), ["bad.pth", "Meter", "--trust-checkpoint"], None, id="pickle-with-globals"),
    pytest.param(_with_globals(True), ["bad.pth", "Meter", "--trust-checkpoint"], None,
                 id="legacy-pickle-with-globals"),
    pytest.param(lambda s, d: torch.save({"notes": "x", "epoch": 3}, d), ["bad.pth", "no model weights"], None,
                 id="no-weights"),
    pytest.param(lambda s, d: torch.save(torch.ones(3), d), ["bad.pth", "not a checkpoint dict"], None,
                 id="bare-tensor"),
    pytest.param(lambda s, d: d.write_bytes(pickle.dumps({"model": {"w": [1.0]}})), ["bad.pth", "not a readable"],
                 "--trust-checkpoint", id="plain-pickle-no-globals"),
]


@pytest.mark.parametrize("command", ["test", "predict"])
@pytest.mark.parametrize("make, names, absent", CHECKPOINTS)
def test_bad_checkpoint_is_one_clear_error(trained, tmp_path, command, make, names, absent):
    ave, wd = trained
    bad = tmp_path / "bad.pth"
    make(wd / "best.pth", bad)
    extra = ["--split", "test"] if command == "predict" else []
    outcome = run_cli([command, CONFIG, str(bad), "--work-dir", str(tmp_path / "out"), *extra, "--cfg-options",
                       *_options(ave)])
    assert_clear_error(outcome, *names, code=2)
    if absent:
        assert absent not in outcome.output, outcome.output


#: The refusal sentence of a checkpoint pickling objects, up to the caller's own way to trust it.
REFUSAL = re.compile(r"(\S*bad\.pth holds pickled Python objects besides weights .*?); if you trust where it came "
                     r"from, (.*)\.")


def test_extractors_refuse_a_pickled_object_checkpoint_with_the_sentence_of_test(trained, tmp_path):
    ave, wd = trained
    bad = tmp_path / "bad.pth"
    _with_globals(False)(wd / "best.pth", bad)
    tested = run_cli(["test", CONFIG, str(bad), "--work-dir", str(tmp_path / "out"), "--cfg-options", *_options(ave)])
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "clip.mp4").write_bytes(b"")  # the checkpoint is refused before any video is opened
    extractor = dict(type="VGG19Pool5", checkpoint=str(bad), device="cpu",
                     model=dict(widths=(8, "M", 8, "M", 16, "M", 16, "M", 16, "M"), hidden=16))
    config = tmp_path / "extract_vgg19.py"
    config.write_text(f"data_root = {str(tmp_path)!r}\nextract = dict(extractor={extractor!r}, "
                      f"inputs='videos/{{video_id}}.mp4', split='val', out_folder='features/vgg19')\n")
    extracted = run_cli(["extract-features", str(config)])
    assert_clear_error(tested, "bad.pth", "Meter", code=2)
    assert_clear_error(extracted, "bad.pth", "Meter", code=2)
    (refusal, trust_by_flag), (same, trust_by_resaving) = (REFUSAL.search(o.output).groups() for o in (tested, extracted))
    assert same == refusal
    assert trust_by_flag.startswith("pass --trust-checkpoint") and "torch.save its state dict alone" in trust_by_resaving


def test_checkpoint_of_another_model_names_the_keys(trained, tmp_path):
    ave, wd = trained
    outcome = run_cli(["test", CONFIG, str(wd / "best.pth"), "--work-dir", str(tmp_path / "out"), "--cfg-options",
                       *_options(ave, "model.d_model=16")])
    assert_clear_error(outcome, "best.pth", "time_mlp", code=2)


def _finished(tmp_path: Path, config_hash: str) -> Path:
    wd = tmp_path / "finished"
    wd.mkdir()
    (wd / "result.json").write_text(json.dumps({"run_id": "20240101T000000-ave_vgg-s0-abcdef",
                                                "config_hash": config_hash}))
    return wd


def _lock(wd: Path, **holder) -> Path:
    wd.mkdir(parents=True, exist_ok=True)
    (wd / "tim-bench.lock").write_text(json.dumps({"host": socket.gethostname(), "command": "run",
                                                   "started": "2024-01-01T00:00:00", **holder}))
    return wd


def _file(path: Path) -> Path:
    path.write_text("a file, not a folder\n")
    return path


# (command line options after the config, names in the message); `tmp` is the test's folder
WORK_DIRS: list = [
    pytest.param(lambda t: ["--work-dir", str(_file(t / "wd"))], ["wd", "work dir"], id="work-dir-is-a-file"),
    pytest.param(lambda t: ["--work-dir", str(_file(t / "f") / "wd")], ["f/wd", "work dir", "is a file"],
                 id="work-dir-under-a-file"),
    pytest.param(lambda t: ["--work-dir", str(t / "wd"), "--results-dir", str(_file(t / "store"))],
                 ["store", "Results store", "not a folder"], id="results-dir-is-a-file"),
    pytest.param(lambda t: ["--work-dir", str(t / "wd"), "--results-dir", str(_file(t / "f") / "store")],
                 ["f/store", "Results store", "not a folder"], id="results-dir-under-a-file"),
    pytest.param(lambda t: ["--work-dir", str(_lock(t / "wd", pid=os.getpid()))],
                 ["wd", "in use by another tim-bench process", f"pid {os.getpid()}", socket.gethostname()],
                 id="work-dir-locked-by-live-process"),
    pytest.param(lambda t: ["--work-dir", str(_lock(t / "wd", pid=1, host="gpu-node-07"))],
                 ["in use", "gpu-node-07", "tim-bench.lock"], id="work-dir-locked-from-another-host"),
    pytest.param(lambda t: ["--work-dir", str(_finished(t, "0" * 64))],
                 ["finished", "different config", "--overwrite"], id="finished-work-dir-other-config"),
    pytest.param(lambda t: ["--work-dir", str(_finished(t, "0" * 64)), "--resume"],
                 ["finished run", "20240101T000000-ave_vgg-s0-abcdef", "--resume"],
                 id="resume-finished-work-dir"),
    pytest.param(lambda t: ["--work-dir", str(t / "wd"), "--resume", "--overwrite"], ["--resume", "--overwrite"],
                 id="resume-and-overwrite"),
]


@pytest.mark.parametrize("command", ["run", "train"])
@pytest.mark.parametrize("args, names", WORK_DIRS)
def test_bad_work_or_results_dir_is_refused_before_training(trained, tmp_path, command, args, names):
    ave = trained[0]
    argv = args(tmp_path)
    if command == "train" and "--results-dir" in argv:
        pytest.skip("train writes no record")
    outcome = run_cli([command, CONFIG, *argv, "--cfg-options", *_options(ave)])
    assert_clear_error(outcome, *names, code=2)
    assert not list(tmp_path.rglob("last.pth")), "training started although the run was refused"


@pytest.mark.skipif(ROOT_USER, reason="root may write into read-only folders")
@pytest.mark.parametrize("what", ["work", "store", "out"])
def test_read_only_output_folder_is_named_before_training(trained, tmp_path, what):
    ave = trained[0]
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if what == "out":
            argv = ["predict", CONFIG, str(trained[1] / "best.pth"), "--out", str(locked / "p.npz")]
        else:
            argv = ["run", CONFIG, "--work-dir", str(locked if what == "work" else tmp_path / "wd"),
                    "--results-dir", str(locked if what == "store" else tmp_path / "store")]
        outcome = run_cli([*argv, "--cfg-options", *_options(ave)])
    finally:
        locked.chmod(0o755)
    assert_clear_error(outcome, str(locked), code=2)
    assert not list(tmp_path.rglob("last.pth"))


def test_predict_out_under_a_file_is_refused(trained, tmp_path):
    ave, wd = trained
    outcome = run_cli(["predict", CONFIG, str(wd / "best.pth"), "--split", "test", "--out",
                       str(_file(tmp_path / "f") / "p.npz"), "--cfg-options", *_options(ave)])
    assert_clear_error(outcome, "output folder", str(tmp_path / "f"), "not a folder", code=2)


def test_earlier_runs_checkpoints_are_never_replaced_silently(trained, tmp_path):
    ave, wd = trained
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("best.pth", "last.pth"):
        (copy / name).write_bytes((wd / name).read_bytes())
    outcome = run_cli(["run", CONFIG, "--work-dir", str(copy), "--cfg-options", *_options(ave)])
    assert_clear_error(outcome, "best.pth", "last.pth", "--resume", "--overwrite", code=2)
    assert (copy / "best.pth").read_bytes() == (wd / "best.pth").read_bytes()


def test_zero_epochs_never_evaluates_an_old_checkpoint(trained, tmp_path):
    ave, wd = trained
    outcome = run_cli(["run", CONFIG, "--work-dir", str(wd), "--resume", "--results-dir", str(tmp_path / "store"),
                       "--cfg-options", *_options(ave), "train_cfg.max_epochs=0"])
    assert_clear_error(outcome, "train_cfg.max_epochs", "nothing is trained", code=2)
    assert not (tmp_path / "store").exists() and not (wd / "result.json").exists()


def test_full_disk_while_checkpointing_names_the_path(trained, tmp_path, monkeypatch):
    ave = trained[0]

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr("tim_bench.runner.checkpoint.torch.save", full)
    wd = tmp_path / "wd"
    outcome = run_cli(["train", CONFIG, "--work-dir", str(wd), "--cfg-options", *_options(ave)])
    assert_clear_error(outcome, "no space left on", str(wd), ".pth", code=2)
    assert not list(wd.glob("*.tmp")) and not list(wd.glob(".*.tmp"))


def test_full_disk_keeps_the_previous_file_and_removes_the_temporary_one(tmp_path):
    from tim_bench_registry import TimBenchError
    target = tmp_path / "best.pth"
    target.write_bytes(b"previous")

    def full(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(TimBenchError, match=f"no space left on {tmp_path}"):
        write_atomic(target, full)
    assert target.read_bytes() == b"previous" and sorted(p.name for p in tmp_path.iterdir()) == ["best.pth"]


def test_orphaned_temporary_files_are_removed_at_the_next_start(trained, tmp_path):
    ave = trained[0]
    wd = tmp_path / "wd"
    wd.mkdir()
    orphan = wd / ".best.pth.k1ll3d.tmp"
    orphan.write_bytes(b"half a checkpoint")
    outcome = run_cli(["train", CONFIG, "--work-dir", str(wd), "--cfg-options", *_options(ave)])
    assert outcome.code == 0, outcome.output
    assert not orphan.exists() and ".best.pth.k1ll3d.tmp" in (wd / "log.txt").read_text()
