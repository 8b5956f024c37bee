"""`tim-bench evaluate`: score a submission (zip or test.json) with its challenge's official metrics.

The challenge (a ``CHALLENGES`` entry of a benchmark plugin) reads the labels, says which segments
must be present and computes the metrics; its own options (e.g. the EPIC plugin's ``--tail-verbs``)
follow the common ones on the command line.

Exit codes: 0 scored; 2 bad input (usage, files, ids, scores: a TimBenchError, which main prints as one sentence);
1 any other failure (e.g. an unreadable disk).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from tim_bench_registry import CHALLENGES, Challenge, ChallengeScorer, DataError, lookup, plugin_manager

_SHOWN_IDS = 5


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``evaluate`` on the tim-bench command line."""
    parser = subparsers.add_parser(
        "evaluate", help="score a challenge submission with the official metrics", add_help=False,
        description="Score a submission zip (or its test.json) as the challenge's official evaluator does, after "
                    "checking it as the challenge server would: the header, one test.json in the zip, finite "
                    "numeric scores, and every labelled segment present exactly once (no other). Options of the "
                    "challenge itself (e.g. tail and unseen files) follow; an unknown one lists those it takes. "
                    "Exit codes: 0 ok, 2 bad input, 1 other failure.")
    parser.add_argument("-h", "--help", action=HelpWithChallengeOptions,
                        help="show this help, with each installed challenge's own options, and exit")
    parser.add_argument("submission", type=Path, help="submission .zip or test.json")
    parser.add_argument("--challenge", required=True,
                        help="which challenge (a registered one; `tim-bench plugins` lists them under challenges)")
    parser.add_argument("--labels", required=True, type=Path, help="the challenge's labels CSV (or .pkl)")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="allow .pkl labels (unpickling can run code; only for files you trust)")
    parser.add_argument("--allow-partial", action="store_true",
                        help="score a submission that lacks some labelled segments (the coverage is printed, and "
                             "is the 'coverage' key of --json); such numbers are not comparable with full ones")
    parser.add_argument("--max-json-mib", type=int, metavar="MIB",
                        help="refuse a submission larger than this, before reading it (default: the challenge's own "
                             "cap; see `tim-bench plugins` for the challenge's plugin)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.set_defaults(func=run, takes_extra_args=True)


class HelpWithChallengeOptions(argparse.Action):
    """``-h``: the common options, then each installed challenge's own (the plugins load only when asked)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace, values, option_string=None) -> None:
        parser.print_help()
        plugin_manager()  # challenges register when their benchmark plugin loads
        for challenge in sorted(CHALLENGES.module_dict.values(), key=lambda c: c.name):
            if challenge.scorer is None:
                continue
            own = argparse.ArgumentParser(prog=parser.prog, usage=argparse.SUPPRESS, add_help=False)
            challenge.scorer.add_arguments(own.add_argument_group(f"options of --challenge {challenge.name}"))
            print("\n" + own.format_help().strip("\n") if own._actions else
                  f"\noptions of --challenge {challenge.name}: none of its own")
        parser.exit()


def challenge_options(challenge: Challenge, scorer: type[ChallengeScorer],
                      args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with the options of the challenge's ``scorer`` parsed from the rest of the command line."""
    parser = argparse.ArgumentParser(prog=f"tim-bench evaluate --challenge {challenge.name}", add_help=False)
    scorer.add_arguments(parser)
    extra, unknown = parser.parse_known_args(getattr(args, "extra_args", []))
    if unknown:
        takes = [a.option_strings[0] for a in parser._actions if a.option_strings] or ["no options of its own"]
        raise DataError(f"--challenge {challenge.name} does not take {' '.join(unknown)}; it takes "
                        f"{', '.join(takes)}.")
    return argparse.Namespace(**{**vars(args), **vars(extra)})


def first_ids(ids: pd.Index | np.ndarray) -> str:
    """The first few ids, comma-separated, for error messages."""
    return ", ".join(str(i) for i in list(ids[:_SHOWN_IDS]))


def coverage_of(args: argparse.Namespace, ids: np.ndarray, labels: pd.DataFrame,
                required: pd.Index) -> dict[str, float]:
    """Refuse ids outside the labels, and required segments left out unless --allow-partial; the coverage."""
    submitted = pd.Index(ids)
    unknown = ~submitted.isin(labels.index)
    if unknown.any():
        raise DataError(f"{unknown.sum()} of the {len(ids)} segments of {args.submission} are not in {args.labels} "
                        f"(first {first_ids(ids[unknown])}); score it against the labels of its own split.")
    missing = required[~required.isin(submitted)]
    coverage = {"segments": int(len(required) - len(missing)), "labelled": int(len(required)),
                "fraction": (len(required) - len(missing)) / len(required) if len(required) else 1.0}
    if len(missing) and not args.allow_partial:
        raise DataError(f"{args.submission} lacks {len(missing)} of the {len(required)} labelled segments of "
                        f"{args.labels} (first {first_ids(missing)}); the challenge scores every segment, so predict "
                        f"them all, or pass --allow-partial to score only the {coverage['segments']} present.")
    return coverage


def evaluate(args: argparse.Namespace) -> tuple[dict[str, float], dict[str, float]]:
    """The official metrics of ``args.submission`` against ``args.labels``, and its coverage of the labels."""
    challenge: Challenge = lookup(CHALLENGES, args.challenge)
    scorer_class = challenge.scorer
    if scorer_class is None:
        raise DataError(f"Challenge {challenge.name} has no scorer; its plugin does not say how to score it.")
    scorer = scorer_class(challenge_options(challenge, scorer_class, args))
    scores = challenge.read(args.submission, args.max_json_mib)
    labels = scorer.labels(challenge.id_column, challenge.name)
    ids = scores["ids"]
    coverage = coverage_of(args, ids, labels, scorer.required(labels))
    return scorer(scores, labels.loc[ids]), coverage


def run(args: argparse.Namespace) -> int:
    """Print the metrics as a table or JSON; return the exit code (a TimBenchError reaches main: exit 2)."""
    try:
        metrics, coverage = evaluate(args)
    except OSError as exc:
        print(f"tim-bench evaluate: error: {exc}", file=sys.stderr)
        return 1
    partial = coverage["segments"] < coverage["labelled"]
    if partial:
        print(f"warning: {args.submission} covers {coverage['segments']} of the {coverage['labelled']} labelled "
              f"segments ({100 * coverage['fraction']:.2f} %); these metrics are of that part only.", file=sys.stderr)
    if args.json:
        print(json.dumps({**metrics, "coverage": coverage} if args.allow_partial else metrics))
    else:
        if args.allow_partial:
            print(f"coverage: {coverage['segments']} of {coverage['labelled']} labelled segments "
                  f"({100 * coverage['fraction']:.2f} %)" + (" - PARTIAL" if partial else ""))
        print(tabulate(list(metrics.items()), headers=("metric", "value"), floatfmt=".4f"))
    return 0
