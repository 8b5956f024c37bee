"""`compare` answers "is B better than A?": the main metric, the config keys that differ, and across seeds a
Welch's t-test besides the per-stream bootstrap; leaderboard rows of one config name show the changed keys."""
from __future__ import annotations

import json
import math
from pathlib import Path

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


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, dict[tuple[str, int], Path]]:
    """Two recipes (ave_vgg at two learning rates), two seeds each, in one results store."""
    root = tmp_path_factory.mktemp("compare")
    made = run_cli(["make-synthetic", "ave", str(root / "ave"), "--videos", "30", "--visual-dim", "8",
                    "--audio-dim", "6"])
    assert made.code == 0, made.output
    store, dirs = root / "store", {}
    for lr in LRS:
        for seed in (0, 1):
            wd = dirs[(lr, seed)] = root / f"lr{lr}_s{seed}"
            outcome = run_cli(["run", CONFIG, "--seed", str(seed), "--work-dir", str(wd), "--results-dir", str(store),
                               "--cfg-options", f"data_root={root / 'ave'}", "train_cfg.max_epochs=1",
                               "train_cfg.batch_size=4", f"train_cfg.lr={lr}", *TINY_MODEL])
            assert outcome.code == 0, outcome.output
    return store, dirs


@pytest.mark.slow
def test_compare_two_recipes_with_two_seeds_each(runs) -> None:
    store, dirs = runs
    a, b = dirs[(LRS[0], 0)], dirs[(LRS[1], 0)]
    out = run_cli(["compare", str(a), str(b), "--results-dir", str(store), "--reps", "2000"])
    assert out.code == 0, out.output
    text = out.output
    fused = {k: json.loads((wd / "result.json").read_text())["metrics"]["acc_fused"] for k, wd in dirs.items()}
    assert "Is B better than A on the main metric, acc_fused?" in text
    pair = fused[(LRS[1], 0)] - fused[(LRS[0], 0)]
    assert f"this pair of runs: A {fused[(LRS[0], 0)]:.2f}, B {fused[(LRS[1], 0)]:.2f}, B - A {pair:+.2f}" in text
    mean = {lr: (fused[(lr, 0)] + fused[(lr, 1)]) / 2 for lr in LRS}
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
def test_leaderboard_rows_of_one_config_show_the_changed_key(runs) -> None:
    store, _ = runs
    out = run_cli(["leaderboard", "--results-dir", str(store), "--no-reference"])
    assert out.code == 0, out.output
    for lr in LRS:
        assert f"ave_vgg [train_cfg.lr={lr}] [synthetic data]" in out.output
