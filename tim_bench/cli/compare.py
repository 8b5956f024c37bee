"""`tim-bench compare RUN_A RUN_B`: is B better than A (main metric; across seeds and per stream), config diff."""
from __future__ import annotations

import argparse

from ..rules import COUNT, POSITIVE_INT, Rule, cli_number
from .common import STORE_DEFAULT


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="difference between two runs, with a paired bootstrap CI and p-value",
                       description="Is B better than A? The dataset's main metric of both runs and, when the "
                                   "results store holds two or more seeds of each run's recipe, Welch's t-test over "
                                   "seeds (is B's recipe better beyond training randomness?). Then the resolved-"
                                   "config keys that differ, every metric and its difference, and per stream (each "
                                   "classification task both runs predicted) a paired bootstrap over segments of "
                                   "the top-1 difference (do these two trained models differ on these segments?), "
                                   "read from the runs' saved predictions, each checked against the sha256 its run "
                                   "recorded.")
    p.add_argument("run_a", metavar="RUN_A", help="run id (or a unique prefix), a result.json or a run's work dir")
    p.add_argument("run_b", metavar="RUN_B", help="the run compared with RUN_A (differences are B - A)")
    p.add_argument("--results-dir", action="append", metavar="DIR",
                   help=f"results store folder to look run ids up in; repeatable (default {STORE_DEFAULT})")
    p.add_argument("--reps", type=cli_number(POSITIVE_INT), default=10_000, help="bootstrap resamples (default 10000)")
    p.add_argument("--seed", type=cli_number(COUNT), default=0, help="random seed of the bootstrap (default 0)")
    p.add_argument("--confidence", type=cli_number(Rule("number", 0, 1, low_open=True, high_open=True)),
                   default=0.95,
                   help="confidence level of the intervals; 1 - it is the significance level (default 0.95)")
    p.add_argument("--metrics-only", action="store_true",
                   help="compare the stored metrics alone, without reading the predictions (no bootstrap)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..leaderboard.compare import compare_runs, render_comparison
    from ..leaderboard.store import find_record, load_records

    a, b = find_record(args.run_a, args.results_dir), find_record(args.run_b, args.results_dir)
    comparison = compare_runs(a, b, reps=args.reps, seed=args.seed, confidence=args.confidence,
                              metrics_only=args.metrics_only, pool=load_records(args.results_dir))
    print(render_comparison(comparison), end="")
    return 0
