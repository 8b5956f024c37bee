"""`tim-bench leaderboard`: tables of the stored runs beside the published TIM rows."""
from __future__ import annotations

import argparse
from pathlib import Path

from .common import LEADERBOARD_DEFAULT, STORE_DEFAULT

#: The tim_bench.outputs kind of an --out-dir the leaderboard writes.
OUTPUT_KIND = "leaderboard"


def add_reference_args(p: argparse.ArgumentParser) -> None:
    """Which reference rows are shown (shared with `suite`)."""
    p.add_argument("--reference-dir", action="append", default=[], metavar="DIR",
                   help="extra folder of reference-row JSON files, beside the shipped published TIM rows")
    p.add_argument("--no-reference", action="store_true", help="leave the published reference rows out")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", help="tables of stored runs with the published TIM rows",
                       description="One table per dataset: one row per recipe (the same resolved config counts once, "
                                   "whatever file or override produced it), mean ± std over its seeds, majority-class "
                                   "and uniform-chance rows from the scored split's class counts (each column over "
                                   "the segments its metric scores), the single best value of each column marked "
                                   "among rows scored on the same evaluation data and above its chance level (none "
                                   "on a tie), and the difference to the "
                                   "published TIM row. "
                                   "Formats: terminal (default, stdout), md (README.md), csv (leaderboard.csv), "
                                   "latex (leaderboard.tex, booktabs), html (index.html, sortable, links each run's "
                                   f"pictures) and any a plugin registers, each file in --out-dir (default "
                                   f"{LEADERBOARD_DEFAULT}); --out - prints any format to stdout.")
    p.add_argument("--format", default="terminal",
                   help="table format: terminal (default), md, csv, latex, html or one a plugin registers "
                        "(`tim-bench plugins` lists formats); each one prints to stdout with --out -")
    p.add_argument("--out", help="output file, or - for stdout (default: the format's file in --out-dir; terminal: "
                                 "stdout)")
    p.add_argument("--out-dir", metavar="DIR",
                   help=f"folder of the format's default file when no --out is given (default {LEADERBOARD_DEFAULT})")
    p.add_argument("--results-dir", action="append", metavar="DIR",
                   help=f"results store folder; repeat to merge several (default {STORE_DEFAULT})")
    add_reference_args(p)
    p.add_argument("--dataset", action="append", default=[], metavar="NAME",
                   help="only this dataset (a dataset plugin name, as in run records); repeatable; shows its table even without runs")
    p.add_argument("--since", metavar="DATE", help="only runs created at or after this ISO date/time (UTC)")
    p.add_argument("--config", metavar="GLOB", help="only configs whose name matches, e.g. 'ave_*'")
    p.add_argument("--metric", action="append", default=[], metavar="NAME",
                   help="only these metric columns (official names, e.g. acc_fused); repeatable")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tim_bench_registry import FORMATS, lookup

    from ..leaderboard.errors import LeaderboardError
    from ..leaderboard.publish import publish
    from ..leaderboard.reference import load_references
    from ..leaderboard.store import load_records
    from ..leaderboard.tables import build_tables, parse_since, select_records
    from ..outputs import mark_output_folder

    form = lookup(FORMATS, args.format)  # an unknown format is an error even when no run matches
    for folder in args.results_dir or ():  # a store named explicitly must exist (a typo is not "no runs")
        if not Path(folder).exists():
            raise LeaderboardError(f"Results store {folder} does not exist; check the --results-dir path.")
    records = select_records(load_records(args.results_dir), datasets=args.dataset,
                             since=parse_since(args.since) if args.since else None, config_glob=args.config)
    references = [] if args.no_reference else load_references(args.reference_dir)
    target = output_target(args, form.default_out)
    tables = build_tables(records, references, datasets=args.dataset, metrics=args.metric)
    if not tables:
        advice = ("add runs with `tim-bench run CONFIG` or `tim-bench suite CONFIG ...`, or name a dataset with "
                  "--dataset to see its published rows.")
        if target is not None:  # a script waiting for the file must not see exit 0 without it
            raise LeaderboardError(f"No stored run matches, so no leaderboard was written to {target}; {advice}")
        print(f"No stored run matches; {advice}")
        return 0
    written = publish(tables, args.format, target or args.out)
    if written is not None:
        if args.out is None:  # the format's file in a leaderboard folder
            mark_output_folder(written.parent, OUTPUT_KIND)
        print(f"wrote {written}")
    return 0


def output_target(args: argparse.Namespace, default_out: str | None) -> Path | None:
    """The file the leaderboard goes to (None: stdout), checked first: --out is no input file and no folder,
    and an --out-dir that is not empty is a leaderboard folder tim-bench wrote."""
    from tim_bench_registry import FORMATS

    from ..leaderboard.publish import default_leaderboard_dir
    from ..outputs import check_output_file, check_output_folder
    inputs = [*(args.results_dir or ()), *args.reference_dir]
    if args.out == "-":
        return None
    if args.out is not None:
        return check_output_file(args.out, inputs, force=True, option="--out", example=default_out or "leaderboard.md")
    if default_out is None:  # a format without a file (terminal) prints
        return None
    if args.out_dir is None:
        return default_leaderboard_dir() / default_out
    own_files = [f.default_out for f in FORMATS.module_dict.values() if f.default_out]
    folder = check_output_folder(args.out_dir, OUTPUT_KIND, inputs, option="--out-dir", also_marked_by=own_files)
    return folder.absolute() / default_out
