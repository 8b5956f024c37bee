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
from ..submission.challenges import CHALLENGES, EPIC100_ACTION, Challenge
from ..submission.reader import read_submission
from ..submission.epic import first_ids

LABEL_COLUMNS = {"epic-100-action": ("participant_id", "verb_class", "noun_class"), "epic-sounds": ("class_id",)}
TAIL_VERBS, TAIL_NOUNS = "EPIC_100_tail_verbs.csv", "EPIC_100_tail_nouns.csv"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``evaluate`` on the tim-bench command line."""
    parser = subparsers.add_parser(
        "evaluate", help="score a challenge submission with the official metrics",
        description="Score a submission zip (or its test.json) as the official EPIC-KITCHENS-100 or EPIC-Sounds "
                    "evaluator does. Tail and unseen files default to the official files beside --labels. "
                    "Exit codes: 0 ok, 2 bad input, 1 other failure.")
    parser.add_argument("submission", type=Path, help="submission .zip or test.json")
    parser.add_argument("--challenge", required=True, choices=sorted(CHALLENGES))
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


def evaluate(args: argparse.Namespace) -> dict[str, float]:
    """The official metrics of ``args.submission`` against ``args.labels``."""
    challenge = CHALLENGES[args.challenge]
    if challenge is EPIC100_ACTION and args.exclude_background:
        raise DataError("--exclude-background applies to --challenge epic-sounds only.")
    if challenge is not EPIC100_ACTION and any((args.tail_verbs, args.tail_nouns, args.unseen_participants)):
        raise DataError("--tail-verbs, --tail-nouns and --unseen-participants apply to --challenge "
                        "epic-100-action only.")
    found, scores = read_submission(args.submission)
    if found is not challenge:
        raise DataError(f"{args.submission} is a {found.name} submission, but --challenge is {challenge.name}.")
    labels = load_labels(args.labels, challenge, args.trust_pickle)
    ids = scores["ids"]
    unknown = ~pd.Index(ids).isin(labels.index)
    if unknown.any():
        raise DataError(f"{unknown.sum()} of the {len(ids)} segments of {args.submission} are not in {args.labels} "
                        f"(first {first_ids(ids[unknown])}); score it against the labels of its own split.")
    rows = labels.loc[ids]
    if challenge is EPIC100_ACTION:
        return _epic100(args, scores, rows)
    return epic_sounds_metrics(scores["interaction"], rows["class_id"].to_numpy(), args.exclude_background)


def run(args: argparse.Namespace) -> int:
    """Print the metrics as a table or JSON; return the exit code (a TimBenchError reaches main: exit 2)."""
    try:
        metrics = evaluate(args)
    except OSError as exc:
        print(f"tim-bench evaluate: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(metrics))
    else:
        print(tabulate(list(metrics.items()), headers=("metric", "value"), floatfmt=".4f"))
    return 0
