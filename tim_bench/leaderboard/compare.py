"""Compare two runs: is B better than A on the dataset's main metric, and per stream?

Two tests answer two questions:

* **across seeds** (Welch's t-test over the per-seed main metric of every stored run of A's recipe and of B's,
  when each has two or more seeds): is B's recipe better than A's beyond the spread between training seeds?
  That is the question a reviewer asks of a new method.
* **paired bootstrap over segments** (per task, top-1): do these two trained models differ on these
  segments? It ignores training randomness, so two seeds of one config can come out "significant".

Beside them: every metric's difference and the resolved-config keys in which the two runs differ.

The paired bootstrap resamples the n evaluated segments with replacement and recomputes
top-1(B) - top-1(A). Only discordant segments move the difference, so a resample is fully
described by how many of the n draws land on "only B right" and "only A right" segments: a
multinomial draw with probabilities (n_b/n, n_a/n, rest). Sampling those counts gives exactly
the segment bootstrap's distribution at O(reps) cost instead of O(reps x n).

The p-value is the two-sided shifted-bootstrap test (Berg-Kirkpatrick et al., 2012): the share of
resamples whose difference deviates from the observed one by at least the observed difference.
"""
from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats
from tabulate import tabulate

from tim_bench_registry.predictions import Predictions, TaskPredictions
from tim_bench_registry.scores import topk_correct

from ..io import sha256_file
from .configdiff import config_diff
from .errors import LeaderboardError
from .spec import leaderboard_spec
from .store import recipe_of

log = logging.getLogger("tim_bench.leaderboard")


@dataclass(frozen=True)
class Bootstrap:
    """Paired bootstrap of top-1(B) - top-1(A) on one task, in percentage points."""

    task: str
    n: int
    top1_a: float
    top1_b: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    only_b: int
    only_a: int
    reps: int
    confidence: float


def paired_bootstrap(correct_a: np.ndarray, correct_b: np.ndarray, *, reps: int = 10_000, seed: int = 0,
                     confidence: float = 0.95) -> tuple[float, float, float, float]:
    """(difference, CI low, CI high, p-value) of mean(correct_b) - mean(correct_a), in percentage points.

    ``correct_a`` and ``correct_b`` are [n] bools for the same segments in the same order.

    >>> d, lo, hi, p = paired_bootstrap(np.array([0, 1, 1]), np.array([1, 1, 1]), reps=20000)
    >>> round(d, 2), lo, hi, round(p, 1)
    (33.33, 0.0, 100.0, 0.6)
    """
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise LeaderboardError(f"A paired bootstrap needs two equally long, non-empty 1-d outcome arrays; got "
                               f"shapes {a.shape} and {b.shape}.")
    if reps < 1 or not 0 < confidence < 1:
        raise LeaderboardError(f"A paired bootstrap needs --reps >= 1 and 0 < --confidence < 1; got {reps} and "
                               f"{confidence}.")
    n = len(a)
    only_b, only_a = int((b & ~a).sum()), int((a & ~b).sum())
    observed = only_b - only_a
    counts = np.random.default_rng(seed).multinomial(n, [only_b / n, only_a / n, (n - only_b - only_a) / n],
                                                      size=reps)
    resampled = counts[:, 0] - counts[:, 1]  # integer differences: comparisons below are exact
    p_value = float(np.mean(np.abs(resampled - observed) >= abs(observed)))
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(100.0 * resampled / n, [tail, 100 - tail])
    return 100.0 * observed / n, float(low), float(high), p_value


def _paired(task: str, pa: TaskPredictions, pb: TaskPredictions, names: tuple[str, str]) -> tuple[np.ndarray, ...]:
    """Top-1 outcomes of both runs on the labelled segments they share, in one order."""
    ia = {sid: i for i, sid in enumerate(pa.ids) if pa.labels[i] >= 0}
    common = [(ia[sid], j) for j, sid in enumerate(pb.ids) if pb.labels[j] >= 0 and sid in ia]
    if not common:
        raise LeaderboardError(f"Runs {names[0]} and {names[1]} share no labelled '{task}' segment; compare runs "
                               f"of the same dataset and split.")
    rows_a, rows_b = (np.array(x, dtype=np.int64) for x in zip(*common))
    disagree = pa.labels[rows_a] != pb.labels[rows_b]
    if disagree.any():
        sid = pb.ids[rows_b[disagree.argmax()]]
        raise LeaderboardError(f"Runs {names[0]} and {names[1]} label '{task}' segment {sid} differently; they were "
                               f"evaluated on different annotations and cannot be paired.")
    correct_a = topk_correct(pa.logits[rows_a], pa.labels[rows_a], 1)
    correct_b = topk_correct(pb.logits[rows_b], pb.labels[rows_b], 1)
    return correct_a, correct_b


@dataclass(frozen=True)
class SeedTest:
    """Welch's t-test of the main metric over the seeds of A's recipe and of B's (B - A, in the metric's unit)."""

    metric: str
    seeds_a: tuple[int, ...]
    seeds_b: tuple[int, ...]
    mean_a: float
    mean_b: float
    std_a: float
    std_b: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    df: float
    confidence: float


@dataclass(frozen=True)
class Comparison:
    """Run B against run A: the main metric, metric rows (name, A, B, B - A), one bootstrap per shared task, the
    across-seed test when both recipes have several seeds (else ``seed_note`` says why not), and the config keys
    that differ (None: a record holds no config)."""

    run_a: str
    run_b: str
    metrics: list[tuple[str, float | None, float | None, float | None]]
    bootstraps: list[Bootstrap]
    note: str = ""
    main_metric: str | None = None
    seed_test: SeedTest | None = None
    seed_note: str = ""
    config_diff: list[tuple[str, str, str]] | None = None


def verified_predictions(record: Mapping[str, Any], name: str) -> tuple[Path, str]:
    """The predictions file of a run and its sha256, proven to be the file the record was made from (by the
    record's ``predictions_sha256``; an older record without one is used with a warning)."""
    path = Path(str(record.get("predictions") or ""))
    if not record.get("predictions") or not path.is_file():
        raise LeaderboardError(f"Run {name}'s predictions file {path} does not exist, so there is no paired "
                               f"bootstrap; restore it, or pass --metrics-only to compare the stored metrics alone.")
    digest = sha256_file(path)
    stored = record.get("predictions_sha256")
    if stored is None:
        log.warning("warning: run %s's record has no predictions_sha256 (an older store), so tim-bench cannot "
                    "verify that %s still holds that run's predictions.", name, path)
    elif stored != digest:
        raise LeaderboardError(f"Run {name}'s predictions file {path} is not the one its record was made from "
                               f"(sha256 {digest[:12]}, recorded {str(stored)[:12]}): another run has replaced it. "
                               f"Restore that run's file, or pass --metrics-only to compare the stored metrics alone.")
    return path, digest


def seed_values(record: Mapping[str, Any], pool: Sequence[Mapping[str, Any]], metric: str) -> dict[int, float]:
    """{seed: ``metric``} of every run of ``record``'s recipe (same dataset and split) in ``pool`` and of
    ``record`` itself; a seed run twice keeps its newest record."""
    runs = [r for r in pool if recipe_of(r) == recipe_of(record) and r["dataset"] == record["dataset"]
            and r["split"] == record["split"]]
    runs = sorted({str(r["run_id"]): r for r in [*runs, record]}.values(), key=lambda r: str(r["created"]))
    return {int(r["seed"]): float(r["metrics"][metric]) for r in runs if r["metrics"].get(metric) is not None}


def welch_test(values_a: Mapping[int, float], values_b: Mapping[int, float], metric: str,
               confidence: float = 0.95) -> SeedTest:
    """Welch's unequal-variance t-test of mean(B) - mean(A) over per-seed values (two or more seeds each)."""
    va, vb = np.array(list(values_a.values())), np.array(list(values_b.values()))
    with warnings.catch_warnings():  # zero spread in both gives NaN, which the caller explains in words
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(vb, va, equal_var=False)
    low, high = result.confidence_interval(confidence) if np.isfinite(result.statistic) else (np.nan, np.nan)
    return SeedTest(metric, tuple(sorted(values_a)), tuple(sorted(values_b)), float(va.mean()), float(vb.mean()),
                    float(va.std(ddof=1)), float(vb.std(ddof=1)), float(vb.mean() - va.mean()), float(low),
                    float(high), float(result.pvalue), float(result.df), confidence)


def _across_seeds(a: Mapping[str, Any], b: Mapping[str, Any], pool: Sequence[Mapping[str, Any]], metric: str | None,
                  confidence: float) -> tuple[SeedTest | None, str]:
    """The across-seed test of the main metric, or None and a sentence saying why there is none."""
    if metric is None:
        return None, "The records name no main metric, so there is no across-seed test."
    if recipe_of(a) == recipe_of(b):
        return None, (f"A and B are two seeds of one recipe (seeds {a['seed']} and {b['seed']}): their difference is "
                      f"seed-to-seed variation, so there is no across-seed test.")
    sa, sb = seed_values(a, pool, metric), seed_values(b, pool, metric)
    if len(sa) < 2 or len(sb) < 2:
        return None, (f"No across-seed test: the results store holds {len(sa)} seed(s) of A's recipe and {len(sb)} "
                      f"of B's, and the test needs two or more of each (`tim-bench run CONFIG --seed N`, or "
                      f"`tim-bench suite CONFIG --seeds 0 1 2`). Without it, nothing here says whether B's recipe "
                      f"beats A's beyond training randomness.")
    spread_a, spread_b = np.std(list(sa.values())), np.std(list(sb.values()))
    if spread_a == 0 and spread_b == 0:
        (va, *_), (vb, *_) = sa.values(), sb.values()
        same = "both recipes score the same" if va == vb else f"B - A is {vb - va:+.2f} at every seed"
        return None, (f"No across-seed test: every seed of A's recipe (seeds {_seeds(sa)}) gave {metric} {va:.2f} "
                      f"and every seed of B's (seeds {_seeds(sb)}) gave {vb:.2f} ({same}); with no spread across "
                      f"seeds Welch's t-test is undefined, so nothing here measures training randomness. More seeds, "
                      f"or a less degenerate recipe, may vary.")
    return welch_test(sa, sb, metric, confidence), ""


def _seeds(values: Mapping[int, float]) -> str:
    return ",".join(map(str, sorted(values)))


def compare_runs(a: Mapping[str, Any], b: Mapping[str, Any], *, reps: int = 10_000, seed: int = 0,
                 confidence: float = 0.95, metrics_only: bool = False,
                 pool: Sequence[Mapping[str, Any]] = ()) -> Comparison:
    """Compare two run records: the main metric, every metric, the config keys that differ, the across-seed test
    over the runs of each recipe in ``pool`` (the results store), and (unless ``metrics_only``) a paired
    bootstrap on the saved predictions, each verified to be its record's own (see ``verified_predictions``)."""
    names = (str(a["run_id"]), str(b["run_id"]))
    if a["dataset"] != b["dataset"] or a["split"] != b["split"]:
        raise LeaderboardError(f"Run {names[0]} is {a['dataset']} {a['split']} but {names[1]} is {b['dataset']} "
                               f"{b['split']}; compare two runs of the same dataset and split.")
    spec = leaderboard_spec(str(a["dataset"]), set(a["metrics"]) | set(b["metrics"]), a.get("main_metric"))
    order = [m for m in spec.metrics if m in a["metrics"] or m in b["metrics"]]
    order += sorted((set(a["metrics"]) | set(b["metrics"])) - set(order))
    rows = []
    for m in order:
        va, vb = a["metrics"].get(m), b["metrics"].get(m)
        rows.append((m, va, vb, vb - va if va is not None and vb is not None else None))

    if names[0] == names[1]:
        raise LeaderboardError(f"RUN_A and RUN_B are both run {names[0]}; compare two different runs.")
    # the main metric of the dataset's leaderboard table (the paper's), which the table is ordered by
    main = spec.main if spec.main in a["metrics"] or spec.main in b["metrics"] else None
    selected = {str(r.get("main_metric")) for r in (a, b) if r.get("main_metric")}
    main_note = ""
    if main is not None and selected - {main}:
        main_note = (f"The runs selected their best checkpoint by {' and '.join(sorted(selected))} (their configs' "
                     f"evaluator.main_metric); the {spec.name} table's main metric is {main}, used here. ")
    seed_test, seed_note = _across_seeds(a, b, pool, main, confidence)
    common = dict(main_metric=main, seed_test=seed_test, seed_note=main_note + seed_note,
                  config_diff=config_diff(a, b))
    if metrics_only:
        return Comparison(*names, rows, [], "Metrics only (--metrics-only): no paired bootstrap.", **common)
    (path_a, sha_a), (path_b, sha_b) = (verified_predictions(r, n) for r, n in ((a, names[0]), (b, names[1])))
    if sha_a == sha_b:
        raise LeaderboardError(f"Runs {names[0]} and {names[1]} load identical predictions ({path_a} and {path_b}, "
                               f"sha256 {sha_a[:12]}); a run compared with itself says nothing, so compare two "
                               f"different models.")
    pred_a, pred_b = Predictions.load(path_a), Predictions.load(path_b)
    boots = []
    for task in (t for t in pred_a.by_task if t in pred_b.by_task):
        ca, cb = _paired(task, pred_a.task(task), pred_b.task(task), names)
        diff, low, high, p = paired_bootstrap(ca, cb, reps=reps, seed=seed, confidence=confidence)
        boots.append(Bootstrap(task, len(ca), 100.0 * ca.mean(), 100.0 * cb.mean(), diff, low, high, p,
                               int((cb & ~ca).sum()), int((ca & ~cb).sum()), reps, confidence))
    return Comparison(*names, rows, boots, **common)


def _number(value: float | None, sign: str = "") -> str:
    return "–" if value is None else f"{value:{sign}.2f}"


def _main_lines(c: Comparison) -> list[str]:
    """The answer to "is B better than A?" on the main metric: this pair, then across seeds."""
    row = next((r for r in c.metrics if r[0] == c.main_metric), None)
    if row is None:
        return ["Is B better than A? The records name no main metric that both report; see the metrics below."]
    _, va, vb, d = row
    lines = [f"Is B better than A on the main metric, {c.main_metric}?",
             f"  this pair of runs: A {_number(va)}, B {_number(vb)}, B - A {_number(d, '+')}"]
    t = c.seed_test
    if c.seed_note:
        lines.append(f"  {c.seed_note}")
    if t is None:
        return lines
    level = f"{100 * t.confidence:g}% CI"
    alpha = 1 - t.confidence
    verdict = (f"B's recipe is {'better' if t.diff > 0 else 'worse'} than A's beyond seed-to-seed variation "
               f"(p < {alpha:g})" if t.p_value < alpha else
               f"not distinguishable from seed-to-seed variation at the {100 * alpha:g}% level")
    return lines + [
        f"  across seeds (Welch's t-test; A seeds {','.join(map(str, t.seeds_a))}, B seeds "
        f"{','.join(map(str, t.seeds_b))}): A {t.mean_a:.2f} ± {t.std_a:.2f}, B {t.mean_b:.2f} ± {t.std_b:.2f}, "
        f"B - A {t.diff:+.2f}, {level} [{t.ci_low:+.2f}, {t.ci_high:+.2f}], p {t.p_value:.4f} (df {t.df:.1f})",
        f"  -> {verdict}.",
        "  (Across seeds asks whether B's recipe beats A's beyond training randomness: the reviewer's question.)"]


def _diff_lines(c: Comparison) -> list[str]:
    if c.config_diff is None:
        return ["Config differences: not shown, a record holds no resolved config (written before tim-bench "
                "recorded it); compare the runs' WORK_DIR/config.py."]
    if not c.config_diff:
        return ["Config differences: none (the resolved configs are equal)."]
    return ["Config differences (resolved config keys that differ):",
            tabulate(c.config_diff, headers=["key", "A", "B"], tablefmt="simple", disable_numparse=True)]


def render_comparison(c: Comparison) -> str:
    """The answer on the main metric, the config diff, the metric table and the bootstraps, as terminal text."""
    metric_table = tabulate([(m, _number(va), _number(vb), _number(d, "+")) for m, va, vb, d in c.metrics],
                            headers=["metric", "A", "B", "B - A"], tablefmt="simple", disable_numparse=True)
    parts = [f"A = {c.run_a}\nB = {c.run_b}", "\n".join(_main_lines(c)), "\n".join(_diff_lines(c)), metric_table]
    if c.bootstraps:
        level = f"{100 * c.bootstraps[0].confidence:g}% CI"
        boot_table = tabulate(
            [(x.task, x.n, f"{x.top1_a:.2f}", f"{x.top1_b:.2f}", f"{x.diff:+.2f}",
              f"[{x.ci_low:+.2f}, {x.ci_high:+.2f}]", f"{x.p_value:.4f}", f"{x.only_b} / {x.only_a}")
             for x in c.bootstraps],
            headers=["task", "segments", "top-1 A", "top-1 B", "B - A", level, "p", "only B / only A right"],
            tablefmt="simple", disable_numparse=True)
        parts += [f"Per stream: paired bootstrap over segments ({c.bootstraps[0].reps} resamples). It asks whether "
                  f"these two trained models differ on these segments, not whether their recipes do: two seeds of "
                  f"one config can differ here.", boot_table]
    if c.note:
        parts.append(c.note)
    return "\n\n".join(parts) + "\n"
