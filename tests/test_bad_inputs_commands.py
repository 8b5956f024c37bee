"""Generators, skeletons and commands given input they cannot use: one sentence naming the option, name or path
(exit 2), never a traceback, never unusable output with exit 0, and nothing trained before a late failure."""
from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from bad_input import assert_clear_error, run_cli
from helpers import tim_bench_exe
from test_leaderboard_store import make_record
from tim_bench.leaderboard.store import add_record

CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py")
SMALL = ["--videos", "30", "--visual-dim", "4", "--audio-dim", "4"]

# make-synthetic NAME OUT OPTIONS...: every numeric option of every generator, out of range or not finite
GENERATOR_CASES = [
    ("ave", ["--visual-dim", "0"], "--visual-dim"),
    ("ave", ["--audio-dim", "-3"], "--audio-dim"),
    ("ave", ["--visual-dim", "100000"], "--visual-dim"),
    ("ave", ["--signal", "nan"], "--signal"),
    ("ave", ["--signal", "inf"], "--signal"),
    ("ave", ["--signal", "-1"], "--signal"),
    ("ave", ["--signal", "1e30"], "--signal"),
    ("ave", ["--videos", "0"], "--videos"),
    ("ave", ["--seed", "-1"], "--seed"),
    ("epic", ["--visual-dim", "0"], "--visual-dim"),
    ("epic", ["--dims", "0,4"], "--dims"),
    ("epic", ["--dims", "4,nan"], "--dims"),
    ("epic", ["--signal", "nan"], "--signal"),
    ("epic", ["--videos", "-2"], "--videos"),
    ("epic", ["--max-videos", "0"], "--max-videos"),
    ("perception", ["--audio-dim", "0"], "--audio-dim"),
    ("perception", ["--signal", "-inf"], "--signal"),
    ("perception", ["--videos", "0"], "--videos"),
]


@pytest.mark.parametrize("name, options, option", GENERATOR_CASES,
                         ids=[f"{n}{''.join(o)}" for n, o, _ in GENERATOR_CASES])
def test_a_generator_refuses_an_unusable_number(tmp_path: Path, name: str, options: list[str], option: str) -> None:
    out = tmp_path / "data"
    assert_clear_error(run_cli(["make-synthetic", name, str(out), *options]), option, code=2)
    assert not out.exists()


@pytest.mark.parametrize("name", ["ave", "perception"])
def test_a_generator_says_what_it_writes_and_refuses_more_than_the_disk_holds(tmp_path: Path, name: str) -> None:
    small = run_cli(["make-synthetic", name, str(tmp_path / "small"), *SMALL])
    assert small.code == 0 and "MB of features (30 videos" in small.output and "GB free there" in small.output, \
        small.output
    out = tmp_path / "huge"  # about 2e16 bytes: more than any disk has free
    huge = run_cli(["make-synthetic", name, str(out), "--videos", "1000000000", "--visual-dim", "16384"])
    assert_clear_error(huge, "GB of features", "GB free", str(out), "lower --videos, --visual-dim or --audio-dim",
                       code=2)
    assert not out.exists()


# new-plugin KIND NAME: a package that could not be imported as itself, or that re-registers taken names
PLUGIN_NAME_CASES = [
    ("dataset", "json", "standard library"),
    ("dataset", "sys", "standard library"),
    ("dataset", "class", "keyword"),
    ("dataset", "tim_bench", "installed module"),
    ("benchmark", "tim_bench_registry", "installed module"),
    ("dataset", "numpy", "installed module"),
    ("dataset", "my-clips", "not a snake_case identifier"),
    ("dataset", "2clips", "not a snake_case identifier"),
    ("benchmark", "ave", "ave in the generator registry"),
    ("benchmark", "perception", "perception in the generator registry"),
    ("dataset", "ave", "AVE in the dataset registry"),
    ("dataset", "epic", "the entry point epic"),
]


@pytest.mark.parametrize("kind, name, reason", PLUGIN_NAME_CASES, ids=[f"{k}-{n}" for k, n, _ in PLUGIN_NAME_CASES])
def test_new_plugin_refuses_a_name_that_cannot_work(tmp_path: Path, kind: str, name: str, reason: str) -> None:
    out = tmp_path / "pkg"
    assert_clear_error(run_cli(["new-plugin", kind, name, str(out)]), f"'{name}'", reason, code=2)
    assert not out.exists()


def _file(tmp: Path) -> Path:
    path = tmp / "a_file"
    path.write_text("keep\n")
    return path


def _garbage(tmp: Path) -> Path:
    path = tmp / "fixture.pt"
    path.write_bytes(bytes(range(256)) * 8)
    return path


class Recorded:
    """Any Python object: a fixture that pickles one is refused, never unpickled."""


def _pickled_object(tmp: Path) -> Path:
    path = tmp / "fixture.pt"
    torch.save({"config": {}, "inputs": {}, "outputs": {}, "state_dict": {}, "meter": Recorded()}, path)
    return path


def _partial(tmp: Path) -> Path:
    path = tmp / "fixture.pt"
    torch.save({"config": {}, "state_dict": {}}, path)
    return path


def _empty_store(tmp: Path) -> str:
    (tmp / "store").mkdir()
    return str(tmp / "store")


def _suite_missing(tmp: Path) -> list[str]:
    return ["suite", CONFIG, str(tmp / "MISSING.py"), "--work-dir-root", str(tmp / "runs"), "--results-dir",
            str(tmp / "store")]


TIM = ["--", "--train", "--dataset", "epic", "--output_dir", "o"]
# (argv from the temporary folder, names the message must hold): commands that gave a traceback or a late or
# misleading answer
COMMAND_CASES: list[tuple[str, Callable[[Path], list[str]], list[str]]] = [
    ("predict-out-existing-dir", lambda t: ["predict", CONFIG, str(t / "best.pth"), "--out", str(t)],
     ["--out", "is a folder", "predictions_test.npz"]),
    ("make-synthetic-out-is-a-file", lambda t: ["make-synthetic", "ave", str(_file(t)), *SMALL],
     ["a_file", "is a file, not a folder"]),
    ("make-synthetic-original-layout-out-is-a-file", lambda t: [
        "make-synthetic", "--layout", "original", "ave", str(_file(t)), *SMALL], ["a_file", "is a file"]),
    ("new-plugin-dir-is-a-file", lambda t: ["new-plugin", "dataset", "my_clips", str(_file(t))],
     ["a_file", "is a file, not a folder"]),
    ("check-parity-garbage", lambda t: ["check-parity", str(_garbage(t))], ["fixture.pt", "not a torch file"]),
    ("check-parity-pickled-object", lambda t: ["check-parity", str(_pickled_object(t))],
     ["fixture.pt", "pickled Python objects", "not unpickled"]),
    ("check-parity-missing-keys", lambda t: ["check-parity", str(_partial(t))], ["fixture.pt", "'inputs'"]),
    ("check-parity-folder", lambda t: ["check-parity", str(t)], ["Fixture /", "is a folder"]),
    ("suite-missing-config", _suite_missing, ["MISSING.py", "does not exist"]),
    ("from-tim-args-d-model-not-multiple-of-nhead", lambda t: ["from-tim-args", *TIM, "--d_model", "100", "--nhead",
                                                               "3"], ["--d_model 100", "--nhead 3", "multiple"]),
    ("from-tim-args-num-feats-0", lambda t: ["from-tim-args", *TIM, "--num_feats", "0"], ["--num_feats 0"]),
    ("from-tim-args-negative-feat-gap", lambda t: ["from-tim-args", *TIM, "--feat_gap", "-0.2"], ["--feat_gap -0.2"]),
    ("from-tim-args-nan-lr", lambda t: ["from-tim-args", *TIM, "--lr", "nan"], ["--lr nan", "finite"]),
    ("from-tim-args-dropout-1", lambda t: ["from-tim-args", *TIM, "--seq_dropout", "1"], ["--seq_dropout 1"]),
    ("from-tim-args-flag-twice", lambda t: ["from-tim-args", *TIM, "--num_feats", "25", "--num_feats", "50"],
     ["--num_feats given more than once"]),
    ("from-tim-args-alias-twice", lambda t: ["from-tim-args", *TIM, "--lr", "1e-4", "--learning-rate", "1e-3"],
     ["--lr and --learning-rate given more than once"]),
    ("from-tim-args-disjoint-modalities", lambda t: ["from-tim-args", *TIM, "--data_modality", "visual",
                                                     "--model_modality", "audio"],
     ["--data_modality visual", "--model_modality audio"]),
    ("from-tim-args-batch-below-gpus", lambda t: ["from-tim-args", *TIM, "-b", "2", "--num-gpus", "4"],
     ["-b 2", "--num-gpus 4"]),
    ("leaderboard-out-file-empty-store", lambda t: ["leaderboard", "--results-dir", _empty_store(t), "--format", "csv",
                                                    "--out", str(t / "board.csv")],
     ["No stored run matches", "board.csv", "no leaderboard was written"]),
    ("leaderboard-out-dir-empty-store", lambda t: ["leaderboard", "--results-dir", _empty_store(t), "--format", "md",
                                                   "--out-dir", str(t / "board")], ["No stored run matches", "board"]),
]


@pytest.mark.parametrize("argv, names", [c[1:] for c in COMMAND_CASES], ids=[c[0] for c in COMMAND_CASES])
def test_a_command_names_what_is_wrong(tmp_path: Path, argv: Callable[[Path], list[str]], names: list[str]) -> None:
    assert_clear_error(run_cli(argv(tmp_path)), *names, code=2)
    assert not (tmp_path / "runs").exists(), "the suite trained before checking its configs"
    assert not (tmp_path / "board.csv").exists()


def test_a_kept_input_file_is_untouched(tmp_path: Path) -> None:
    path = _file(tmp_path)
    assert run_cli(["make-synthetic", "ave", str(path), *SMALL]).code == 2
    assert path.read_text() == "keep\n"


@pytest.mark.parametrize("argv", [["plugins"], ["leaderboard", "--dataset", "AVE", "--format", "csv", "--out", "-"],
                                  ["make-synthetic"], ["--help"]], ids=["plugins", "leaderboard", "generators", "help"])
def test_a_closed_pipe_ends_a_command_quietly(tmp_path: Path, argv: list[str]) -> None:
    """`tim-bench plugins | head -1`: the reader is gone before the command prints; no traceback, SIGPIPE status."""
    add_record(make_record(), tmp_path / "store")
    proc = subprocess.Popen([tim_bench_exe(), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "TIM_BENCH_RESULTS": str(tmp_path / "store")})
    proc.stdout.close()  # as `head` exits
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert "Traceback" not in err and "Exception ignored" not in err and "BrokenPipe" not in err, err
    assert code in (0, 141), (code, err)
