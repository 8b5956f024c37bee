"""`tim-bench submit`: turn a predictions file into a challenge's official submission zip (its plugin's writer).

Exit codes: 0 written; 2 bad input (usage, predictions, ids, existing output: a TimBenchError, which main
prints as one sentence); 1 any other failure (e.g. a full disk).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tim_bench_registry import CHALLENGES, WRITERS, Challenge, DataError, Predictions, build, lookup

from ..outputs import check_output_file, same_file


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``submit`` on the tim-bench command line."""
    parser = subparsers.add_parser(
        "submit", help="write the official challenge submission zip from predictions",
        description="Write the official submission zip (one test.json) of a tim-bench predictions file. The "
                    "scores are checked first (class counts, finite values, and with --timestamps every test "
                    "segment and no other). Exit codes: 0 ok, 2 bad input, 1 other failure.")
    parser.add_argument("predictions", type=Path, help="predictions .npz written by tim-bench predict")
    parser.add_argument("--challenge", required=True,
                        help="which challenge (a registered one; `tim-bench plugins` lists them under challenges)")
    parser.add_argument("--out", required=True, type=Path, help="submission zip to write")
    parser.add_argument("--timestamps", type=Path, help="official test timestamps CSV: refuse missing or extra ids")
    # the challenge's writer checks these values (the Scale of Levels of Supervision is 0..5, t_mod 0..2)
    parser.add_argument("--sls-pt", type=int, default=2, help="SLS pre-training level, 0-5 (default 2)")
    parser.add_argument("--sls-tl", type=int, default=3, help="SLS training-labels level, 0-5 (default 3)")
    parser.add_argument("--sls-td", type=int, default=4, help="SLS training-data level, 0-5 (default 4)")
    parser.add_argument("--t-mod", type=int,
                        help="training modality, for challenges whose header has one: 0 audio, 1 video, 2 audio-visual (default: read off "
                             "the predictions as a run's writer does: 2 when they hold visual tasks too, else 0)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite existing outputs (never an input: --out naming the predictions is refused)")
    parser.add_argument("--original-dict", type=Path,
                        help="also write the original TIM's --extract_feats dict here (pickle, as the original)")
    parser.set_defaults(func=run)


def submit(args: argparse.Namespace) -> Path:
    """Check the options and outputs, then write the zip (and the original dict if asked)."""
    challenge: Challenge = lookup(CHALLENGES, args.challenge)
    options = dict(type=challenge.writer, sls_pt=args.sls_pt, sls_tl=args.sls_tl, sls_td=args.sls_td,
                   timestamps=args.timestamps)
    if challenge.has_t_mod:
        options["t_mod"] = args.t_mod
    elif args.t_mod is not None:
        raise DataError(f"--t-mod applies to --challenge values whose header has a training modality; "
                        f"{challenge.name} has none.")
    inputs = [args.predictions, args.timestamps]
    check_output_file(args.out, inputs, force=args.force, option="--out", example="submission.zip")
    if args.original_dict is not None:
        if same_file(args.out, args.original_dict):
            raise DataError(f"--out and --original-dict both name {args.out}; give each output its own file.")
        check_output_file(args.original_dict, inputs, force=args.force, option="--original-dict",
                          example="original_dict.pkl")
    writer = build(WRITERS, options)
    predictions = Predictions.load(args.predictions)
    if predictions.meta.get("synthetic_data"):
        print(f"note: {args.predictions} was predicted on synthetic data (tim-bench make-synthetic); the zip checks "
              f"the format, but do not upload it.", file=sys.stderr)
    if predictions.split != "test":
        print(f"note: {args.predictions} holds the '{predictions.split}' split; the challenge scores the test split.",
              file=sys.stderr)
    from ..original.original_dict import original_prediction_dict, save_original_dict  # imports torch

    # Both outputs are checked before either is written, so a refusal leaves neither behind.
    original = original_prediction_dict(predictions) if args.original_dict is not None else None
    out = writer(predictions, args.out, force=args.force)
    if original is not None:
        save_original_dict(original, args.original_dict)
    return out


def run(args: argparse.Namespace) -> int:
    """Write the submission and report it; return the exit code (a TimBenchError reaches main: exit 2)."""
    try:
        out = submit(args)
    except OSError as exc:
        print(f"tim-bench submit: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out}" + (f" and {args.original_dict}" if args.original_dict is not None else ""))
    return 0
