"""`tim-bench test`: metrics of a trained or released checkpoint on a labelled split."""
from __future__ import annotations

import argparse
import json

from .common import add_checkpoint_args, add_config_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("test", help="evaluate a checkpoint on a labelled split (default: the val split)",
                       description="Load CHECKPOINT (tim-bench or original TIM layout) into the model CONFIG builds "
                                   "and report the dataset's metrics on the config's val split (its test split when "
                                   "it has no val split), or on --split. The split scored is printed above the "
                                   "table and stored in WORK_DIR/test_<split>.json.")
    add_config_args(p, work_dir="where test_<split>.json and log.txt go, used exactly as given (default: the run "
                                "folder given as CONFIG, else the config's work_dir, else a new folder "
                                "work_dirs/<config>/<time>)", run_dir=True)
    add_checkpoint_args(p)
    p.add_argument("--split", help="labelled split to score, e.g. val or test (default: the config's val split, "
                                   "else its test split)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..runner.jobs import test_checkpoint
    from .output import print_metrics
    split, metrics = test_checkpoint(args.config, args.checkpoint, args.cfg_options, args.work_dir, args.split,
                              args.trust_checkpoint)
    if metrics:  # rank 0 only
        checkpoint = args.checkpoint or f"{args.config}/best.pth"
        print(json.dumps(metrics)) if args.json else print_metrics(metrics, title=f"{checkpoint} on split '{split}'")
    return 0
