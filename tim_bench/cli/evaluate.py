"""`tim-bench evaluate`: score a submission (zip or test.json) with the official EPIC-100 or EPIC-Sounds metrics.

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

from tim_bench_registry import DataError

from ..evaluation.epic_official import epic100_metrics, epic_sounds_metrics
from ..submission.challenges import CHALLENGES, EPIC100_ACTION, Challenge, first_ids
from ..submission.reader import DEFAULT_MAX_MIB, MAX_SIZE_ENV, read_submission

LABEL_COLUMNS = {"epic-100-action": ("participant_id", "verb_class", "noun_class"), "epic-sounds": ("class_id",)}
TAIL_VERBS, TAIL_NOUNS = "EPIC_100_tail_verbs.csv", "EPIC_100_tail_nouns.csv"
BACKGROUND = 13  # EPIC-Sounds class id of 'background', which --exclude-background drops


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``evaluate`` on the tim-bench command line."""
    parser = subparsers.add_parser(
        "evaluate", help="score a challenge submission with the official metrics",
        description="Score a submission zip (or its test.json) as the official EPIC-KITCHENS-100 or EPIC-Sounds "
                    "evaluator does, after checking it as the challenge server would: the header, one test.json "
                    "in the zip, finite numeric scores, and every labelled segment present exactly once (no "
                    "other). Tail and unseen files default to the official files beside --labels. "
                    "Exit codes: 0 ok, 2 bad input, 1 other failure.")
    parser.add_argument("submission", type=Path, help="submission .zip or test.json")
    parser.add_argument("--challenge", required=True, choices=sorted(CHALLENGES),
                        help="which challenge: epic-kitchens-100 action recognition or epic-sounds "
                             "(choices: %(choices)s)")
    parser.add_argument("--labels", required=True, type=Path,
                        help="labels CSV (EPIC_100_validation.csv, EPIC_Sounds_validation.csv) or .pkl")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="allow .pkl labels (unpickling can run code; only for files you trust)")
    parser.add_argument("--tail-verbs", type=Path, help=f"tail verb classes (default: {TAIL_VERBS} beside --labels)")
    parser.add_argument("--tail-nouns", type=Path, help=f"tail noun classes (default: {TAIL_NOUNS} beside --labels)")
    parser.add_argument("--unseen-participants", type=Path,
                        help="unseen participant ids (default: EPIC_100_unseen_participant_ids_validation.csv beside "
                             "--labels, or _test.csv when the labels file name contains 'test')")
    parser.add_argument("--exclude-background", action="store_true",
                        help="EPIC-Sounds: drop segments labelled background (13) before scoring")
    parser.add_argument("--allow-partial", action="store_true",
                        help="score a submission that lacks some labelled segments (the coverage is printed, and "
                             "is the 'coverage' key of --json); such numbers are not comparable with full ones")
    parser.add_argument("--max-json-mib", type=int, metavar="MIB",
                        help=f"refuse a test.json larger than this, before reading it (default: ${MAX_SIZE_ENV}, "
                             f"else {DEFAULT_MAX_MIB})")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.set_defaults(func=run)


def load_labels(path: Path, challenge: Challenge, trust_pickle: bool) -> pd.DataFrame:
    """The labels table indexed by segment id; a pickle is read only with ``trust_pickle``."""
    if not path.is_file():
        raise DataError(f"Labels file {path} does not exist; give the official labels CSV.")
    if path.suffix == ".pkl":
        if not trust_pickle:
            raise DataError(f"Labels file {path} is a pickle, and loading a pickle can run code; pass --trust-pickle "
                            f"if you trust it, or give the CSV.")
        frame = pd.read_pickle(path)
        if challenge.id_column not in frame.columns and frame.index.name == challenge.id_column:
            frame = frame.reset_index()
    else:
        frame = pd.read_csv(path, dtype={challenge.id_column: str, "participant_id": str})
    missing = [c for c in (challenge.id_column, *LABEL_COLUMNS[challenge.name]) if c not in frame.columns]
    if missing:
        raise DataError(f"Labels file {path} lacks columns {missing}; give the official {challenge.name} labels.")
    frame = frame.astype({challenge.id_column: str}).set_index(challenge.id_column)
    repeated = frame.index.duplicated()
    if repeated.any():
        raise DataError(f"Labels file {path} lists {repeated.sum()} ids twice (first "
                        f"{first_ids(frame.index[repeated])}); each segment needs one row.")
    return frame


def _subset_file(given: Path | None, labels: Path, default_name: str, option: str) -> Path | None:
    """The explicit file, else the official one beside the labels; None (with a note) if neither exists."""
    if given is not None:
        if not given.is_file():
            raise DataError(f"{option} file {given} does not exist.")
        return given
    default = labels.parent / default_name
    if default.is_file():
        return default
    print(f"note: {default_name} is not beside {labels}, so its metrics are left out; pass {option}.", file=sys.stderr)
    return None


def _column(path: Path | None, column: str) -> list | None:
    if path is None:
        return None
    frame = pd.read_csv(path, dtype={"participant_id": str})
    if column not in frame.columns:
        raise DataError(f"{path} has no '{column}' column; give the official file.")
    return frame[column].tolist()


def _epic100(args: argparse.Namespace, scores: dict[str, np.ndarray], rows: pd.DataFrame) -> dict[str, float]:
    unseen_name = "EPIC_100_unseen_participant_ids_" + ("test" if "test" in args.labels.name else "validation") + ".csv"
    unseen_file = _subset_file(args.unseen_participants, args.labels, unseen_name, "--unseen-participants")
    unseen = _column(unseen_file, "participant_id")
    metrics = epic100_metrics(
        scores["verb"], scores["noun"], rows["verb_class"].to_numpy(), rows["noun_class"].to_numpy(),
        participant_ids=rows["participant_id"].astype(str).tolist(),
        tail_verbs=_column(_subset_file(args.tail_verbs, args.labels, TAIL_VERBS, "--tail-verbs"), "verb"),
        tail_nouns=_column(_subset_file(args.tail_nouns, args.labels, TAIL_NOUNS, "--tail-nouns"), "noun"),
        unseen_participants=unseen)
    if unseen is not None and "unseen_verb_accuracy_at_1" not in metrics:
        print(f"warning: no evaluated segment belongs to the participants of {unseen_file}, so the unseen metrics are "
              f"left out; validation uses the _validation file.", file=sys.stderr)
    return metrics


def _coverage(args: argparse.Namespace, ids: np.ndarray, labels: pd.DataFrame) -> dict[str, float]:
    """Refuse ids outside the labels, and labelled segments left out unless --allow-partial; the coverage."""
    submitted = pd.Index(ids)
    unknown = ~submitted.isin(labels.index)
    if unknown.any():
        raise DataError(f"{unknown.sum()} of the {len(ids)} segments of {args.submission} are not in {args.labels} "
                        f"(first {first_ids(ids[unknown])}); score it against the labels of its own split.")
    required = labels.index
    if args.exclude_background:  # background segments are dropped before scoring, so they need not be there
        required = required[labels["class_id"].to_numpy() != BACKGROUND]
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
    challenge = CHALLENGES[args.challenge]
    if challenge is EPIC100_ACTION and args.exclude_background:
        raise DataError("--exclude-background applies to --challenge epic-sounds only.")
    if challenge is not EPIC100_ACTION and any((args.tail_verbs, args.tail_nouns, args.unseen_participants)):
        raise DataError("--tail-verbs, --tail-nouns and --unseen-participants apply to --challenge "
                        "epic-100-action only.")
    found, scores = read_submission(args.submission, args.max_json_mib)
    if found is not challenge:
        raise DataError(f"{args.submission} is a {found.name} submission, but --challenge is {challenge.name}.")
    labels = load_labels(args.labels, challenge, args.trust_pickle)
    ids = scores["ids"]
    coverage = _coverage(args, ids, labels)
    rows = labels.loc[ids]
    if challenge is EPIC100_ACTION:
        return _epic100(args, scores, rows), coverage
    return epic_sounds_metrics(scores["interaction"], rows["class_id"].to_numpy(), args.exclude_background), coverage


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
