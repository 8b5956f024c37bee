"""End to end: a two-config, two-seed suite on tiny synthetic AVE with the real runner, then every table format."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from test_leaderboard_cli import cli
from test_leaderboard_html import browser_for  # noqa: F401 - pytest fixture
from test_leaderboard_suite import write_config
from test_leaderboard_tables import latex_numbers, markdown_tables
from tim_bench.cli.main import main
from tim_bench.leaderboard.store import load_records

TINY = {"train_cfg": "dict(max_epochs=1, batch_size=32)", "test_cfg": "dict(batch_size=64)"}


@pytest.mark.slow
def test_suite_then_every_format(tmp_path: Path, monkeypatch, capsys, browser_for) -> None:  # noqa: F811
    monkeypatch.chdir(tmp_path)
    assert main(["make-synthetic", "ave", "data", "--videos", "30", "--seed", "0", "--visual-dim", "8",
                 "--audio-dim", "8"]) == 0
    data = repr(str(tmp_path / "data"))
    a = write_config(tmp_path, "tiny_a", data_root=data, model="dict(d_model=32, num_layers=1)", **TINY)
    b = write_config(tmp_path, "tiny_b", data_root=data, model="dict(d_model=16, nhead=4, num_layers=1)", **TINY)
    broken = write_config(tmp_path, "tiny_broken", data_root=repr(str(tmp_path / "no_data")), **TINY)

    # a failing config is reported at the end and does not stop the others
    assert cli("suite", a, broken, b, "--seeds", "0", "1", "--work-dir-root", "work") == 1
    out = capsys.readouterr().out
    assert "2 of 6 runs failed" in out and len(re.findall(r"tiny_broken\.py\s+\d\s+failed", out)) == 2
    assert "AVE (Audio-Visual Event)" in out  # the leaderboard is printed at the end
    stored = load_records()
    assert sorted((r["config_name"], r["seed"]) for r in stored) == [("tiny_a", 0), ("tiny_a", 1), ("tiny_b", 0),
                                                                      ("tiny_b", 1)]
    for record in stored:
        plots = {p.name for p in (Path(record["work_dir"]) / "plots").iterdir()}
        assert {"curves.png", "per_class_visual_event.png", "confusion_audio_event.png"} <= plots

    # re-running adds nothing; --rerun adds a run
    assert cli("suite", a, b, "--seeds", "0", "1") == 0
    assert capsys.readouterr().out.count("skipped") == 4 and len(load_records()) == 4
    assert cli("suite", a, "--seeds", "1", "--rerun") == 0
    assert len(load_records()) == 5

    # runs on generated data are never compared with the paper: skipped with a note, not "OUTSIDE" (exit 3)
    assert cli("suite", a, b, "--seeds", "0", "--against-reference") == 0
    out = capsys.readouterr().out
    assert "2 runs used generated data (make-synthetic) and are not checked against the paper" in out
    assert "OUTSIDE" not in out

    for fmt in ("md", "csv", "latex", "html"):
        assert cli("leaderboard", "--format", fmt) == 0
    board = tmp_path / "leaderboard"
    csv = pd.read_csv(board / "leaderboard.csv")
    measured = csv[csv["kind"] == "measured"].set_index("config")
    # seeds of one config share a row; runs on generated data are marked as such
    assert sorted(measured.index) == ["tiny_a [synthetic data]", "tiny_b [synthetic data]"]
    measured.index = measured.index.str.removesuffix(" [synthetic data]")
    # the rerun seed counts once, from its newest run (as `compare` counts it), and the table says so
    assert measured.loc["tiny_a", "runs"] == 2 and measured.loc["tiny_a", "seeds"] == "0 1"
    assert measured["acc_visual_std"].notna().all()
    # AVE: VGG and Omnivore rows, then the chance rows of the split
    assert list(csv["kind"]) == ["reference", "reference", "chance", "chance", "measured", "measured"]
    text = (board / "README.md").read_text()
    assert "tiny_a (test): seed 1 was run more than once" in text
    md = markdown_tables(text)["AVE"]
    assert len(md) == 1 + 6 and md[0][:4] == ["config", "split", "seeds", "visual"]
    tex = latex_numbers((board / "leaderboard.tex").read_text())["ave"]
    for row, values in zip(csv.itertuples(), tex):
        for metric, value in zip(("acc_visual", "acc_fused", "acc_audio"), values):
            csv_value = getattr(row, metric)
            assert (value is None and pd.isna(csv_value)) or value == pytest.approx(csv_value, abs=0.005)

    browser = browser_for(board / "index.html")
    assert len(browser.column("AVE", "measured", 0)) == 2 and len(browser.column("AVE", "reference", 0)) == 4
    assert browser.eval("document.querySelectorAll('tbody.measured a[href$=\"curves.png\"]').length") == 4
    browser.click("table[data-dataset='AVE'] thead th:nth-child(1)")  # config, A-Z
    assert browser.column("AVE", "measured", 0) == ["tiny_a [synthetic data]", "tiny_b [synthetic data]"]
    browser.click("table[data-dataset='AVE'] thead th:nth-child(1)")  # Z-A
    assert browser.column("AVE", "measured", 0) == ["tiny_b [synthetic data]", "tiny_a [synthetic data]"]

    run_ids = {(r["config_name"], r["seed"]): r["run_id"] for r in load_records()}
    assert cli("compare", run_ids["tiny_a", 0], run_ids["tiny_b", 0]) == 0
    out = capsys.readouterr().out
    assert "Per stream: paired bootstrap over segments" in out and "visual_event" in out and "audio_event" in out
    assert "across seeds (Welch's t-test; A seeds 0,1, B seeds 0,1)" in out  # the suite ran seeds 0 and 1 of each
