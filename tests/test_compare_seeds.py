"""`compare` answers "is B better than A?": the main metric, the config keys that differ, and across seeds a
Welch's t-test besides the per-stream bootstrap. The leaderboard, `compare` and `suite` agree on what one recipe
is: two recipes of ave_vgg that differ by an lr override, the first also reached from another config file, two seeds
each, make two rows with chance rows, and `suite` skips the (recipe, seed) pairs already stored."""
from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path

import pandas as pd

import pytest

from bad_input import run_cli
from helpers import TINY_MODEL
from tim_bench.leaderboard.compare import welch_test

CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "ave_vgg.py")
LRS = ("0.001", "0.003")


def test_welch_test_matches_the_formula() -> None:
    a, b = {0: 70.0, 1: 72.0}, {0: 75.0, 1: 76.0}
    t = welch_test(a, b, "acc_fused")
    se = math.sqrt(2.0 / 2 + 0.5 / 2)  # sample variances 2 and 0.5, two seeds each
    df = (2.0 / 2 + 0.5 / 2) ** 2 / ((2.0 / 2) ** 2 + (0.5 / 2) ** 2)  # Welch-Satterthwaite, n - 1 = 1
    assert t.diff == pytest.approx(4.5) and t.df == pytest.approx(df)
    from scipy import stats
    assert t.p_value == pytest.approx(2 * stats.t.sf(4.5 / se, df))
    half = stats.t.ppf(0.975, df) * se
    assert (t.ci_low, t.ci_high) == (pytest.approx(4.5 - half), pytest.approx(4.5 + half))


def options(root: Path) -> list[str]:
    return [f"data_root={root / 'ave'}", "train_cfg.max_epochs=1", "train_cfg.warmup_epochs=0",
            "train_cfg.batch_size=4", *TINY_MODEL]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, dict[tuple[str, int], Path]]:
    """Two recipes (ave_vgg at two learning rates), two seeds each, in one results store; seed 1 of the first
    comes from another config file, ave_vgg_lr1e3.py, that sets the same lr (the same recipe, another name)."""
    root = tmp_path_factory.mktemp("compare")
    made = run_cli(["make-synthetic", "ave", str(root / "ave"), "--videos", "30", "--visual-dim", "8",
                    "--audio-dim", "6"])
    assert made.code == 0, made.output
    (root / "ave_vgg_lr1e3.py").write_text(f"_base_ = [{CONFIG!r}]\ntrain_cfg = dict(lr=1e-3)\n")
    store, dirs = root / "store", {}
    for lr in LRS:
        for seed in (0, 1):
            wd = dirs[(lr, seed)] = root / f"lr{lr}_s{seed}"
            config, lr_option = ((str(root / "ave_vgg_lr1e3.py"), []) if (lr, seed) == (LRS[0], 1)
                                 else (CONFIG, [f"train_cfg.lr={lr}"]))
            outcome = run_cli(["run", config, "--seed", str(seed), "--work-dir", str(wd), "--results-dir", str(store),
                               "--cfg-options", *options(root), *lr_option])
            assert outcome.code == 0, outcome.output
    return store, dirs


@pytest.mark.slow
def test_compare_two_recipes_with_two_seeds_each(runs) -> None:
    store, dirs = runs
    a, b = dirs[(LRS[0], 0)], dirs[(LRS[1], 0)]
    out = run_cli(["compare", str(a), str(b), "--results-dir", str(store), "--reps", "2000"])
    assert out.code == 0, out.output
    text = out.output
    fused = {k: json.loads((wd / "result.json").read_text())["metrics"]["acc_visual"] for k, wd in dirs.items()}
    assert "Is B better than A on the main metric, acc_visual?" in text
    pair = fused[(LRS[1], 0)] - fused[(LRS[0], 0)]
    assert f"this pair of runs: A {fused[(LRS[0], 0)]:.2f}, B {fused[(LRS[1], 0)]:.2f}, B - A {pair:+.2f}" in text
    mean = {lr: (fused[(lr, 0)] + fused[(lr, 1)]) / 2 for lr in LRS}
    if fused[(LRS[0], 0)] == fused[(LRS[0], 1)] and fused[(LRS[1], 0)] == fused[(LRS[1], 1)]:
        # a degenerate toy run can score the same at every seed: then the test is undefined, and said so in words
        assert "No across-seed test: every seed of A's recipe (seeds 0,1)" in text and "nan" not in text
    else:
        assert "across seeds (Welch's t-test; A seeds 0,1, B seeds 0,1)" in text
        assert f"B - A {mean[LRS[1]] - mean[LRS[0]]:+.2f}" in text
        assert "not distinguishable from seed-to-seed variation" in text or "beyond seed-to-seed variation" in text
    diff = text[text.index("Config differences"):].split("\n\n")[0].splitlines()
    assert [line.split() for line in diff[3:]] == [["train_cfg.lr", LRS[0], LRS[1]]]  # the only key that differs
    assert "Per stream: paired bootstrap over segments" in text and "visual_event" in text


@pytest.mark.slow
def test_compare_two_seeds_of_one_recipe_says_so(runs) -> None:
    store, dirs = runs
    out = run_cli(["compare", str(dirs[(LRS[0], 0)]), str(dirs[(LRS[0], 1)]), "--results-dir", str(store),
                   "--metrics-only"])
    assert out.code == 0, out.output
    assert "two seeds of one recipe (seeds 0 and 1)" in out.output and "Welch" not in out.output
    diff = out.output[out.output.index("Config differences"):].split("\n\n")[0].splitlines()
    assert [line.split() for line in diff[3:]] == [["seed", "0", "1"]]


@pytest.mark.slow
def test_leaderboard_shows_one_row_per_recipe_with_chance_rows_and_suite_agrees(runs) -> None:
    store, dirs = runs
    results = {k: json.loads((wd / "result.json").read_text()) for k, wd in dirs.items()}
    assert len({r["recipe_hash"] for r in results.values()}) == 2  # the other file name is the same recipe
    out = run_cli(["leaderboard", "--results-dir", str(store), "--no-reference", "--format", "csv", "--out", "-"])
    assert out.code == 0, out.output
    frame = pd.read_csv(io.StringIO(out.output))
    measured = frame[frame["kind"] == "measured"].set_index("config")
    assert sorted(measured.index) == [f"ave_vgg (lr={lr}) [synthetic data]" for lr in LRS]
    for lr in LRS:
        row = measured.loc[f"ave_vgg (lr={lr}) [synthetic data]"]
        values = [results[(lr, seed)]["metrics"]["acc_visual"] for seed in (0, 1)]
        assert row["seeds"] == "0 1" and row["runs"] == 2
        assert row["acc_visual"] == pytest.approx(sum(values) / 2)
        assert row["acc_visual_std"] == pytest.approx(abs(values[0] - values[1]) / math.sqrt(2))
    assert measured.loc[f"ave_vgg (lr={LRS[0]}) [synthetic data]", "also_named"] == "ave_vgg_lr1e3"
    # chance rows, from the class counts of the split the runs scored
    counts = results[(LRS[0], 0)]["label_counts"]["visual_event"]
    chance = frame[frame["kind"] == "chance"].set_index("config")
    assert list(chance.index) == ["majority class", "uniform chance"]
    assert chance.loc["majority class", "acc_visual"] == pytest.approx(100 * max(counts) / sum(counts))
    assert chance.loc["uniform chance", "acc_visual"] == pytest.approx(100 / len(counts))

    # markdown: a column's bold goes to its one best row, none on a tie, and none at or below the chance rows
    md = run_cli(["leaderboard", "--results-dir", str(store), "--no-reference", "--format", "md", "--out", "-"])
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in md.output.splitlines() if line.startswith("| ")]
    cells = [row for row in rows if row[0].startswith("ave_vgg")]
    chance_rows = [row for row in rows if row[0] in ("majority class", "uniform chance")]
    assert len(cells) == 2 and len(chance_rows) == 2

    def value(cell: str) -> float:
        return float(re.search(r"-?\d+\.\d+", cell).group())

    for col in range(3, len(cells[0])):
        shown = [value(row[col]) for row in cells]
        chance_level = max(value(row[col]) for row in chance_rows)
        bold = ["**" in row[col] for row in cells]
        best = [v == max(shown) and shown[0] != shown[1] and v > chance_level for v in shown]
        assert bold == best, (col, cells, chance_level)
    assert "also run as ave_vgg_lr1e3" in md.output

    # suite: the other file name with seeds 0 and 1 is the stored recipe: nothing runs, nothing is added
    before = sorted(p.name for p in store.iterdir())
    root = store.parent
    suite = run_cli(["suite", str(root / "ave_vgg_lr1e3.py"), "--seeds", "0", "1", "--results-dir", str(store),
                     "--cfg-options", *options(root)])
    assert suite.code == 0, suite.output
    assert suite.output.count("skipped") >= 2 and sorted(p.name for p in store.iterdir()) == before, suite.output
