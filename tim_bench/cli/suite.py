"""`tim-bench suite CONFIG... [--seeds 0 1 2]`: run configs and seeds in sequence, then print their leaderboard."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tabulate import tabulate

from ..schema import COUNT, NON_NEGATIVE, cli_number
from .common import STORE_DEFAULT, add_cfg_options
from .leaderboard import add_reference_args

if TYPE_CHECKING:
    from ..leaderboard.suite import Check

EXIT_RUN_FAILED = 1
EXIT_OUTSIDE_TOLERANCE = 3


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("suite", help="run several configs and seeds, skipping stored ones, then show the leaderboard",
                       description="Run every CONFIG with every seed in sequence (tim-bench run for each), skip "
                                   "pairs whose resolved config is already in the results store unless --rerun, go "
                                   "on past a failed run, and print the leaderboard of the suite's runs at the end.",
                       epilog=f"Exit status: 0 all good; {EXIT_RUN_FAILED} a run failed; {EXIT_OUTSIDE_TOLERANCE} "
                              f"(with --against-reference) a measured metric is outside the tolerance of its "
                              f"published value.")
    p.add_argument("configs", nargs="+", metavar="CONFIG", help="config files or shipped config names")
    p.add_argument("--seeds", nargs="+", type=cli_number(COUNT), metavar="SEED",
                   help="seeds to run (default: each config's seed)")
    p.add_argument("--rerun", action="store_true", help="run again even when the store already holds the run")
    add_cfg_options(p, "train_cfg.max_epochs=5 (applied to every run)")
    p.add_argument("--work-dir-root", metavar="DIR",
                   help="put each run in DIR/<config>/seed<S>-<time> (default: the config's work dir)")
    p.add_argument("--results-dir", metavar="DIR",
                   help=f"results store folder (default: the config's results_dir, else {STORE_DEFAULT})")
    add_reference_args(p)
    p.add_argument("--against-reference", action="store_true",
                   help="check each measured metric against its published TIM row and exit 3 when one is outside "
                        "(runs on make-synthetic data are skipped with a note)")
    p.add_argument("--tolerance", type=cli_number(NON_NEGATIVE), metavar="POINTS",
                   help="allowed |measured - published| in percentage points (default: each reference row's, 3)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..leaderboard.publish import publish
    from ..leaderboard.reference import load_references
    from ..leaderboard.suite import check_against_reference, run_suite, synthetic_runs
    from ..leaderboard.tables import build_tables

    from ..config import load_config
    from ..runner.experiment import run_experiment

    for config in args.configs:  # a missing or broken config stops the suite before anything trains
        load_config(config, args.cfg_options)
    outcomes = run_suite(args.configs, args.seeds, rerun=args.rerun, results_dir=args.results_dir,
                         cfg_options=args.cfg_options, work_root=args.work_dir_root, runner=run_experiment)
    records = [o.record for o in outcomes if o.record is not None]
    references = [] if args.no_reference else load_references(args.reference_dir)
    if records:
        publish(build_tables(records, references), "terminal")
    print(tabulate([(o.config, "-" if o.seed is None else o.seed, o.status,
                     o.record["run_id"] if o.record else o.error) for o in outcomes],
                   headers=["config", "seed", "status", "run id / error"], tablefmt="simple", disable_numparse=True))
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        print(f"{len(failed)} of {len(outcomes)} runs failed (see above); run one alone with `tim-bench -v run "
              f"CONFIG` for its traceback.")
    status = EXIT_RUN_FAILED if failed else 0
    if args.against_reference:
        skipped = synthetic_runs(records)
        if skipped:
            print(f"Note: {len(skipped)} runs used generated data (make-synthetic) and are not checked against the "
                  f"paper: {', '.join(skipped)}.")
        checks = check_against_reference(records, references or load_references(args.reference_dir),
                                         args.tolerance)
        if not _report_checks(checks):
            status = status or EXIT_OUTSIDE_TOLERANCE
    return status


def _report_checks(checks: list[Check]) -> bool:
    """Print the reference checks; True when every one passed."""
    if not checks:
        print("No measured metric has a published value of the same dataset and split to check against.")
        return True
    print(tabulate([(c.run_id, c.metric, f"{c.measured:.2f}", f"{c.published:.2f}",
                     f"{c.measured - c.published:+.2f}", f"{c.tolerance:g}", "ok" if c.passed else "OUTSIDE")
                    for c in checks],
                   headers=["run", "metric", "measured", "published", "diff", "tolerance", "check"],
                   tablefmt="simple", disable_numparse=True))
    outside = [c for c in checks if not c.passed]
    if outside:
        print(f"{len(outside)} of {len(checks)} metrics are outside the tolerance of their published TIM value.")
    return not outside
