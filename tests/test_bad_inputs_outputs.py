"""Outputs that would overwrite inputs: every writing command refuses an output path that is (or resolves to) one
of its inputs, and a non-empty folder that is not a tim-bench output of its kind, whatever flag is given; the
inputs are left byte for byte as they were."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bad_input import assert_clear_error, run_cli
from tim_bench_registry import Task
from tim_bench.outputs import MARKER, marker_kind
from tim_bench_registry.predictions import Predictions, TaskPredictions

CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py")
AUDIO = Task("audio", "interaction", 44)


def _predictions(tmp: Path) -> Path:
    ids = np.array(["P01_101_0", "P01_101_1"])
    by_task = {AUDIO.key: TaskPredictions(ids, np.zeros((2, 44), np.float32), np.full(2, -1))}
    return Predictions("epic", "test", (AUDIO,), by_task).save(tmp / "P.npz")


def _real_dataset(tmp: Path) -> Path:
    """A folder standing for a real dataset: annotation CSVs tim-bench did not write."""
    real = tmp / "real"
    (real / "epic-kitchens-100").mkdir(parents=True)
    (real / "epic-kitchens-100" / "EPIC_100_train.csv").write_text("narration_id,video_id\nP01_01_0,P01_01\n")
    return real


def _annotations(tmp: Path) -> Path:
    return tmp / "real" / "epic-kitchens-100" / "EPIC_100_train.csv"


def _symlink(tmp: Path, target: Path, name: str) -> Path:
    link = tmp / name
    os.symlink(target, link)
    return link


def _run_folder(tmp: Path) -> Path:
    run = tmp / "run"
    run.mkdir()
    (run / MARKER).write_text('{"kind": "run"}')
    (run / "log.txt").write_text("a run\n")
    return run


def _pickle(tmp: Path) -> Path:
    path = tmp / "AVE_train.pkl"
    path.write_bytes(b"\x80\x04N.")
    return path


# (argv from the temporary folder, names the message must hold, paths that must come through unchanged)
Case = Callable[[Path], tuple[list[str], list[str], list[Path]]]
CASES: list[tuple[str, Case]] = [
    ("submit-out-is-the-predictions", lambda t: (
        ["submit", str(_predictions(t)), "--challenge", "epic-sounds", "--out", str(t / "P.npz"), "--force"],
        ["--out", str(t / "P.npz"), "is the input", "no flag"], [t / "P.npz"])),
    ("submit-out-is-a-symlink-to-the-predictions", lambda t: (
        ["submit", str(_predictions(t)), "--challenge", "epic-sounds", "--force",
         "--out", str(_symlink(t, t / "P.npz", "sub.zip"))], ["sub.zip", "is the input"], [t / "P.npz"])),
    ("submit-out-through-dotdot", lambda t: (
        ["submit", str(_predictions(t)), "--challenge", "epic-sounds", "--force",
         "--out", str(t / "x" / ".." / "P.npz")], ["is the input", "P.npz"], [t / "P.npz"])),
    ("submit-original-dict-is-the-predictions", lambda t: (
        ["submit", str(_predictions(t)), "--challenge", "epic-sounds", "--out", str(t / "s.zip"), "--force",
         "--original-dict", str(t / "P.npz")], ["--original-dict", "is the input"], [t / "P.npz"])),
    ("submit-both-outputs-one-file", lambda t: (
        ["submit", str(_predictions(t)), "--challenge", "epic-sounds", "--out", str(t / "s.zip"),
         "--original-dict", str(t / "s.zip")], ["--out and --original-dict", "s.zip"], [t / "P.npz"])),
    ("make-synthetic-into-a-real-dataset", lambda t: (
        ["make-synthetic", "epic", str(_real_dataset(t)), "--videos", "3", "--dims", "4,4"],
        [str(t / "real"), "not a tim-bench output", MARKER], [_annotations(t)])),
    ("make-synthetic-into-a-symlink-to-a-real-dataset", lambda t: (
        ["make-synthetic", "ave", str(_symlink(t, _real_dataset(t), "data")), "--videos", "30"],
        [str(t / "data"), "not a tim-bench output"], [_annotations(t)])),
    ("make-synthetic-original-layout-into-a-real-dataset", lambda t: (
        ["make-synthetic", "--layout", "original", "ave", str(_real_dataset(t)), "--videos", "30"],
        [str(t / "real"), "not a tim-bench output"], [_annotations(t)])),
    ("make-synthetic-over-its-annotations", lambda t: (
        ["make-synthetic", "epic", str(_real_dataset(t)), "--annotations", str(t / "real"), "--dims", "4,4"],
        [str(t / "real"), "is the input"], [_annotations(t)])),
    ("make-synthetic-into-a-run-folder", lambda t: (
        ["make-synthetic", "ave", str(_run_folder(t)), "--videos", "30"],
        [str(t / "run"), "holds a tim-bench run, not a synthetic dataset"], [t / "run" / "log.txt"])),
    ("new-plugin-into-a-source-tree", lambda t: (
        ["new-plugin", "dataset", "my_clips", str(_real_dataset(t))], [str(t / "real"), "not a tim-bench output"],
        [_annotations(t)])),
    ("train-work-dir-is-a-dataset", lambda t: (
        ["train", CONFIG, "--work-dir", str(_real_dataset(t)), "--overwrite"],
        ["work dir", str(t / "real"), "not a tim-bench output"], [_annotations(t)])),
    ("predict-out-is-the-checkpoint", lambda t: (
        ["predict", CONFIG, str(_pickle(t)), "--out", str(t / "AVE_train.pkl")],
        ["--out", "AVE_train.pkl", "is the input"], [t / "AVE_train.pkl"])),
    ("predict-out-inside-data-root", lambda t: (
        ["predict", CONFIG, str(_pickle(t)), "--out", str(t / "real" / "predictions.npz"), "--cfg-options",
         f"data_root={_real_dataset(t)}"], ["--out", "lies inside the input", str(t / "real")], [_annotations(t)])),
    ("predict-original-dict-inside-data-root", lambda t: (
        ["predict", CONFIG, str(_pickle(t)), "--original-dict", str(t / "real" / "original.pkl"), "--cfg-options",
         f"data_root={_real_dataset(t)}"], ["--original-dict", "lies inside the input", str(t / "real")],
        [_annotations(t)])),
    ("predict-original-dict-is-the-checkpoint", lambda t: (
        ["predict", CONFIG, str(_pickle(t)), "--original-dict", str(t / "AVE_train.pkl")],
        ["--original-dict", "AVE_train.pkl", "is the input"], [t / "AVE_train.pkl"])),
    ("from-tim-args-out-is-an-input-pickle", lambda t: (
        ["from-tim-args", "--force", "--out", str(_pickle(t)), "--", "--train", "--dataset", "ave", "--output_dir",
         "o", "--include_verb_noun", "False", "--video_train_action_pickle", str(t / "AVE_train.pkl")],
        ["--out", "is the input"], [t / "AVE_train.pkl"])),
    ("leaderboard-out-inside-the-results-store", lambda t: (
        ["leaderboard", "--results-dir", str(_real_dataset(t)), "--dataset", "AVE", "--format", "csv",
         "--out", str(t / "real" / "board.csv")], ["--out", "lies inside the input", str(t / "real")], [])),
    ("leaderboard-out-dir-of-other-files", lambda t: (
        ["leaderboard", "--dataset", "AVE", "--format", "md", "--out-dir", str(_real_dataset(t))],
        ["--out-dir", str(t / "real"), "not a tim-bench output"],
        [_annotations(t)])),
]


@pytest.mark.parametrize("make", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_an_output_never_replaces_an_input(tmp_path: Path, make: Case) -> None:
    argv, names, kept = make(tmp_path)
    before = {p: p.read_bytes() for p in kept}
    assert_clear_error(run_cli(argv), *names, code=2)
    assert {p: p.read_bytes() for p in kept} == before, "an input changed"


def test_every_output_folder_is_marked_and_may_be_written_again(tmp_path: Path) -> None:
    """The marker is what lets a command write into its own output again (and nothing else)."""
    data = tmp_path / "syn"
    for _ in range(2):
        outcome = run_cli(["make-synthetic", "ave", str(data), "--videos", "30", "--visual-dim", "4",
                           "--audio-dim", "4"])
        assert outcome.code == 0, outcome.output
    assert marker_kind(data) == "synthetic dataset"
    package = tmp_path / "pkg"
    assert run_cli(["new-plugin", "dataset", "my_clips", str(package)]).code == 0
    assert marker_kind(package) == "plugin package"
    board = tmp_path / "board"
    for _ in range(2):
        outcome = run_cli(["leaderboard", "--dataset", "AVE", "--format", "md", "--out-dir", str(board)])
        assert outcome.code == 0, outcome.output
    assert marker_kind(board) == "leaderboard" and (board / "README.md").is_file()
