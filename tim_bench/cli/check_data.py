"""`tim-bench check-data`: validate a config's annotations and features before a long run."""
from __future__ import annotations

import argparse

from ..rules import NON_NEGATIVE, cli_number
from .common import add_config_args

EXIT_PROBLEMS = 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check-data", help="check annotations and features before training",
                       description="Load every split the config uses and report segment and class counts, segments "
                                   "no window queries, videos without features, feature times that do not cover "
                                   "their video, feature widths that disagree with the config, and NaN values; warn "
                                   "of legal but suspicious data (segments shorter than a feature step or past their "
                                   "video's end, repeated feature rows), with counts. Exit code 0 when clean (warnings "
                                   "included), 1 when problems were found, 2 when the config or a plugin it names "
                                   "cannot be loaded.")
    add_config_args(p, work_dir=None)  # reads only; writes nothing
    p.add_argument("--split", action="append", dest="splits", metavar="SPLIT",
                   help="check only this split (repeatable; default: every split in the config's splits)")
    p.add_argument("--per-class", action="store_true", help="print the segment count of every class per split")
    p.add_argument("--time-tolerance", type=cli_number(NON_NEGATIVE), default=1.0,
                   help="seconds the feature times may fall short of a video's start or end, and segments may end "
                        "after it, before a problem or warning (default 1)")
    p.add_argument("--no-nan-scan", action="store_true", help="skip reading every feature value for NaN/inf")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from ..config import load_config
    from ..runner.check import check_data
    cfg = load_config(args.config, args.cfg_options)
    report = check_data(cfg, args.splits, args.time_tolerance, not args.no_nan_scan)
    print("\n".join(report.lines))
    if args.per_class:
        for key, table in report.class_counts.items():
            print(f"\n{key}")
            print(tabulate(table, headers=["class", *table.columns]))
    if report.warnings:
        print(f"\n{len(report.warnings)} warning{'s' if len(report.warnings) > 1 else ''}:")
        print("\n".join(f"  - warning: {w}" for w in report.warnings))
    if report.clean:
        print(f"\nOK: no problems found{' (see the warnings above)' if report.warnings else ''}")
        return 0
    print(f"\n{len(report.problems)} problem{'s' if len(report.problems) > 1 else ''}:")
    print("\n".join(f"  - {p}" for p in report.problems))
    return EXIT_PROBLEMS
