"""`tim-bench train`: train only, keeping last.pth (resume point) and best.pth in the work dir."""
from __future__ import annotations

import argparse

from .common import add_config_args, add_run_args, add_seed_arg, merge_seed


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model and keep its best checkpoint",
                       description="Train TIM from CONFIG; the best checkpoint by the main validation metric is "
                                   "WORK_DIR/best.pth and the resume point WORK_DIR/last.pth.")
    add_config_args(p)
    add_run_args(p)
    add_seed_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..runner.jobs import train
    from .output import print_metrics
    options = merge_seed("train", args.seed, args.cfg_options)
    summary = train(args.config, options, args.work_dir, resume=args.resume, overwrite=args.overwrite)
    if summary:  # rank 0 only
        print_metrics(summary["val_metrics"], title=f"best epoch {summary['best_epoch']} of "
                                                 f"{summary['epochs_trained']} (by {summary['main_metric']})")
    return 0
