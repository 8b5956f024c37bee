"""The `leaderboard` and `compare` commands on a hand-made store: default outputs, filters, exit codes."""
from __future__ import annotations

import argparse
import io
from pathlib import Path

import pandas as pd
import pytest

from test_leaderboard_store import make_record
from test_leaderboard_tables import records
from tim_bench.cli import compare, leaderboard, suite
from tim_bench.leaderboard.store import add_record
from tim_bench_registry import TimBenchError


def cli(*argv: str) -> int:
    """Parse and run one of this package's commands the way `tim-bench` does (errors exit 2)."""
    parser = argparse.ArgumentParser(prog="tim-bench")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (leaderboard, compare, suite):
        module.add_parser(sub)
    args = parser.parse_args([str(a) for a in argv])
    try:
        return args.func(args)
    except TimBenchError as exc:
        print(f"tim-bench {args.command}: error: {exc}")
        return 2


@pytest.fixture
def store(tmp_path: Path, monkeypatch) -> Path:
    """A store at the default place ($TIM_BENCH_RESULTS: TMP/leaderboard/results, see conftest), run from TMP."""
    monkeypatch.chdir(tmp_path)
    for record in records():
        add_record(record)
    return tmp_path / "leaderboard" / "results"


def test_each_format_goes_to_its_default_file(store: Path, capsys) -> None:
    for fmt, name in [("md", "README.md"), ("csv", "leaderboard.csv"), ("latex", "leaderboard.tex"),
                      ("html", "index.html")]:
        assert cli("leaderboard", "--format", fmt) == 0
        assert capsys.readouterr().out == f"wrote {store.parent / name}\n"  # $TIM_BENCH_LEADERBOARD (conftest)
        assert (store.parent / name).stat().st_size > 0
    assert len(pd.read_csv(store.parent / "leaderboard.csv")) == 7  # AVE: two reference rows (VGG, Omnivore + ASF)


def test_terminal_output_with_filters(store: Path, capsys) -> None:
    assert cli("leaderboard", "--dataset", "AVE", "--config", "ave_a", "--metric", "acc_fused") == 0
    out = capsys.readouterr().out
    assert "ave_a@aaaaaaa" in out and "ave_b" not in out and "EPIC" not in out and "visual" not in out
    assert cli("leaderboard", "--since", "2030-01-01") == 0
    assert "No stored run matches" in capsys.readouterr().out
    assert cli("leaderboard", "--format", "csv", "--out", "-", "--no-reference", "--dataset", "EPIC100") == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(frame["config"]) == ["epic_av_omnivore_videomae"]
    assert cli("leaderboard", "--metric", "acc_nope") == 2
    assert "--metric acc_nope is in none of the selected tables" in capsys.readouterr().out


def test_compare_by_run_id_prefix(store: Path, capsys) -> None:
    assert cli("compare", "a0", "b0") == 2
    assert "Run a0's predictions file /nonexistent/a0/p.npz does not exist" in capsys.readouterr().out
    assert cli("compare", "a0", "b0", "--metrics-only") == 0
    out = capsys.readouterr().out
    assert "acc_fused   70.00  75.00  +5.00" in out and "no paired bootstrap" in out
    assert cli("compare", "a", "b0") == 2
    assert "ambiguous" in capsys.readouterr().out


def test_results_dir_option_reads_another_store(tmp_path: Path, capsys) -> None:
    add_record(make_record("elsewhere"), tmp_path / "other")
    assert cli("leaderboard", "--results-dir", tmp_path / "other", "--format", "csv", "--out", "-") == 0
    assert "ave_a" in capsys.readouterr().out


def test_an_unknown_format_is_an_error_even_with_an_empty_store(tmp_path: Path, capsys) -> None:
    assert cli("leaderboard", "--format", "nope", "--results-dir", tmp_path) == 2
    out = capsys.readouterr().out
    assert "No format plugin named 'nope'" in out and "md" in out


def test_an_out_dir_that_is_a_file_is_named_as_such(store: Path, tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert cli("leaderboard", "--format", "csv", "--out-dir", blocker) == 2
    out = capsys.readouterr().out
    assert f"--out-dir {blocker} is a file, not a folder" in out
    assert blocker.read_text() == ""  # nothing lost
