"""`tim-bench test`: metrics of a trained or released checkpoint on a labelled split."""
from __future__ import annotations

import argparse
import json

from .common import add_checkpoint_args, add_config_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("test", help="evaluate a checkpoint on the validation split",
                       description="Load CHECKPOINT (tim-bench or original TIM layout) into the model CONFIG builds "
                                   "and report the dataset's metrics on the val split (or --split).")
    add_config_args(p)
    add_checkpoint_args(p)
    p.add_argument("--split", help="split to evaluate (default: the config's val split)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..runner.experiment import test_checkpoint
    from .output import print_metrics
    metrics = test_checkpoint(args.config, args.checkpoint, args.cfg_options, args.work_dir, args.split,
                              args.trust_checkpoint)
    if metrics:  # rank 0 only
        print(json.dumps(metrics)) if args.json else print_metrics(metrics)
    return 0
