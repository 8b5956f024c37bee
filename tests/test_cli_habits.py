"""CLI habits researchers expect: --version, --seed, `test` naming the split it scores, a help text for every
option of every command, converted original commands that fit the machine's CPUs, one results store whatever
the current directory, and every leaderboard format on stdout."""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest

from bad_input import assert_clear_error, run_cli
from helpers import TINY_MODEL, run_bounded, tim_bench_exe
from test_from_tim_args import readme_commands
from test_leaderboard_store import make_record
from tim_bench import __version__
from tim_bench.cli.main import build_parser
from tim_bench.original.from_tim_args import available_cpus, convert
from tim_bench.leaderboard.publish import LEADERBOARD_ENV, default_leaderboard_dir
from tim_bench.leaderboard.store import RESULTS_ENV, add_record, default_store

CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py")


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("tim-bench",)):
    """(command path, parser) of the main parser and every subcommand, nested ones included."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


def test_every_option_of_every_command_has_a_help_text():
    missing = [f"{' '.join(path)} {'/'.join(a.option_strings) or a.dest}"
               for path, parser in _commands(build_parser()) for a in parser._actions
               if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)) and not a.help]
    assert missing == []


def test_work_dir_help_says_what_each_command_writes_there():
    commands = dict(_commands(build_parser()))
    helps = {name: next((a.help for a in commands[("tim-bench", name)]._actions if "--work-dir" in a.option_strings),
                        None) for name in ("run", "train", "test", "predict", "check-data")}
    assert "result.json" in helps["run"] and "result.json" in helps["train"]
    assert "test_<split>.json" in helps["test"] and "result.json" not in helps["test"]
    assert "predictions_<split>.npz" in helps["predict"]
    assert helps["check-data"] is None  # it writes nothing


def test_version_names_the_package_version_and_source_revision():
    outcome = run_cli(["--version"])
    assert outcome.code == 0, outcome.output
    assert re.search(rf"tim-bench {re.escape(__version__)} \((git [0-9a-f]{{12}}(, dirty)?|not a git checkout)\)",
                     outcome.output), outcome.output


@pytest.mark.parametrize("command", ["run", "train"])
def test_seed_flag_and_a_different_cfg_options_seed_conflict_clearly(command, tmp_path):
    outcome = run_cli([command, CONFIG, "--work-dir", str(tmp_path / "wd"), "--seed", "3", "--cfg-options", "seed=4"])
    assert_clear_error(outcome, "--seed 3", "seed=4", code=2)
    assert not (tmp_path / "wd").exists()  # refused before any work dir was made


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A 1-epoch tiny model trained with `train --seed 7` (and the same seed in --cfg-options: they agree)."""
    root = tmp_path_factory.mktemp("habits")
    assert run_cli(["make-synthetic", "ave", str(root / "ave"), "--videos", "40", "--visual-dim", "8",
                    "--audio-dim", "6"]).code == 0
    wd = root / "wd"
    outcome = run_cli(["train", CONFIG, "--seed", "7", "--work-dir", str(wd), "--cfg-options", "seed=7",
                       f"data_root={root / 'ave'}", "train_cfg.max_epochs=1", "train_cfg.batch_size=8", *TINY_MODEL])
    assert outcome.code == 0, outcome.output
    return wd


def test_seed_flag_is_the_seed_of_the_run(trained):
    assert re.search(r"^seed = 7$", (trained / "config.py").read_text(), re.M)


@pytest.mark.parametrize("split, argv", [("val", []), ("test", ["--split", "test"])], ids=["default", "--split"])
def test_test_command_says_which_split_it_scores(trained, tmp_path, split, argv):
    data_root = trained.parent / "ave"
    outcome = run_cli(["test", CONFIG, str(trained / "best.pth"), "--work-dir", str(tmp_path), *argv,
                       "--cfg-options", f"data_root={data_root}", *TINY_MODEL])
    assert outcome.code == 0, outcome.output
    assert f"on split '{split}'" in outcome.output
    assert json.loads((tmp_path / f"test_{split}.json").read_text())["split"] == split


def test_converted_config_asks_for_no_more_loader_workers_than_cpus():
    argv = readme_commands()["ave_vgg"] + ["--workers", str(available_cpus() * 4)]
    conversion = convert(argv)
    assert 0 <= conversion.config["train_cfg"]["num_workers"] <= available_cpus()
    assert any("num_workers lowered" in note for note in conversion.notes)


def test_default_results_store_is_per_user_and_independent_of_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(RESULTS_ENV)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    home_store = default_store()
    monkeypatch.chdir(tmp_path / "..")
    assert default_store() == home_store == tmp_path / "home" / ".local" / "share" / "tim-bench" / "results"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_store() == tmp_path / "xdg" / "tim-bench" / "results"
    monkeypatch.setenv(RESULTS_ENV, str(tmp_path / "env"))
    assert default_store() == tmp_path / "env"


@pytest.mark.skipif(sys.platform != "linux", reason="the Linux folders (platformdirs places them elsewhere on macOS and Windows)")
def test_per_user_folders_stay_where_they_were_on_linux(tmp_path, monkeypatch):
    """platformdirs keeps ~/.local/share/tim-bench and ~/.cache/tim-bench, and honours the XDG variables."""
    from tim_bench.user_dirs import user_cache_dir, user_data_dir
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert user_data_dir() == tmp_path / "home" / ".local" / "share" / "tim-bench"
    assert user_cache_dir() == tmp_path / "home" / ".cache" / "tim-bench"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert user_cache_dir() == tmp_path / "cache" / "tim-bench"


def test_results_dir_flag_wins_over_the_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(RESULTS_ENV, str(tmp_path / "env"))
    add_record(make_record("20261124T214500-from_env-s0-000000", config_name="from_env"))
    add_record(make_record("20261124T214500-from_flag-s0-000000", config_name="from_flag"), tmp_path / "flag")
    shown = run_cli(["leaderboard", "--format", "csv", "--out", "-", "--no-reference"]).output
    assert "from_env" in shown and "from_flag" not in shown
    shown = run_cli(["leaderboard", "--format", "csv", "--out", "-", "--no-reference", "--results-dir",
                     str(tmp_path / "flag")]).output
    assert "from_flag" in shown and "from_env" not in shown


@pytest.mark.parametrize("fmt, marker", [("terminal", "ave_a"), ("md", "| "), ("csv", ","), ("latex", "\\toprule"),
                                         ("html", "<table")])
def test_every_leaderboard_format_prints_to_stdout(tmp_path, monkeypatch, fmt, marker):
    monkeypatch.chdir(tmp_path)
    add_record(make_record())
    outcome = run_cli(["leaderboard", "--format", fmt, "--out", "-"])
    assert outcome.code == 0 and marker in outcome.output, outcome.output
    assert re.search(r"ave\\?_a", outcome.output), outcome.output  # the stored run (LaTeX escapes the _)
    assert "wrote" not in outcome.output and not (tmp_path / "leaderboard" / "index.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leaderboard"]  # only the (per-test) store


def test_leaderboard_files_have_one_default_folder_whatever_the_current_directory(tmp_path, monkeypatch):
    add_record(make_record())
    monkeypatch.delenv(LEADERBOARD_ENV)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert default_leaderboard_dir() == tmp_path / "xdg" / "tim-bench" / "leaderboard"
    outcome = run_cli(["leaderboard", "--format", "md"])
    written = tmp_path / "xdg" / "tim-bench" / "leaderboard" / "README.md"
    assert outcome.code == 0 and f"wrote {written}" in outcome.output and written.is_file()
    assert list((tmp_path / "elsewhere").iterdir()) == []  # nothing under the current directory
    monkeypatch.setenv(LEADERBOARD_ENV, str(tmp_path / "env"))
    assert run_cli(["leaderboard", "--format", "csv"]).code == 0 and (tmp_path / "env" / "leaderboard.csv").is_file()
    assert run_cli(["leaderboard", "--format", "csv", "--out-dir", "flag"]).code == 0  # the flag wins, cwd-relative
    assert (tmp_path / "elsewhere" / "flag" / "leaderboard.csv").is_file()


@pytest.mark.parametrize("fmt", ["terminal", "md", "csv", "latex", "html"])
def test_stdout_of_every_format_holds_the_table_alone(tmp_path, fmt, capsys):
    """`--out -` writes the rendering and nothing else to stdout, so `> file` gives the same file as --out."""
    add_record(make_record())
    from tim_bench.cli.main import main
    assert main(["leaderboard", "--format", fmt, "--out", "-"]) == 0
    printed = capsys.readouterr().out
    assert main(["leaderboard", "--format", fmt, "--out", str(tmp_path / "table")]) == 0
    written = (tmp_path / "table").read_text()
    if fmt == "html":  # links to the runs' pictures are relative to the page's folder: the cwd on stdout
        printed, written = (re.sub(r'(src|href)="[^"]*"', "", t) for t in (printed, written))
    assert printed == written and "ave_a" in printed.replace("\\_", "_")


def test_shell_redirection_of_a_leaderboard_is_a_clean_file(tmp_path):
    add_record(make_record())
    target = tmp_path / "board.csv"
    command = f'"{tim_bench_exe()}" leaderboard --format csv --out - --no-reference > "{target}"'
    proc = run_bounded(["bash", "-c", command], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    assert list(pd.read_csv(target)["config"]) == ["ave_a"]
