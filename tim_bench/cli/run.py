"""`tim-bench run`: train -> best checkpoint -> predict -> metrics -> result.json -> results store."""
from __future__ import annotations

import argparse

from .common import CONFIG_IS_PYTHON, STORE_DEFAULT, add_config_args, add_run_args, add_seed_arg, merge_seed


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="train, pick the best checkpoint, evaluate it and record the result",
                       description="Train TIM from CONFIG, keep the best checkpoint by the dataset's main metric, "
                                   "evaluate it on the test split (val when there is none), write predictions, "
                                   "result.json and any configured submission files, and add the run to the "
                                   "results store. " + CONFIG_IS_PYTHON[0].upper() + CONFIG_IS_PYTHON[1:] + ".")
    add_config_args(p)
    add_run_args(p)
    add_seed_arg(p)
    p.add_argument("--results-dir", help=f"results store folder (default: the config's results_dir, else "
                                         f"{STORE_DEFAULT})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..runner.jobs import run_experiment
    from .output import print_metrics
    options = merge_seed("run", args.seed, args.cfg_options)
    record = run_experiment(args.config, options, args.work_dir, args.results_dir, resume=args.resume,
                            overwrite=args.overwrite)
    if record:
        print_metrics(record["metrics"], title=f"{record['config_name']} on {record['dataset']} {record['split']}")
        print(f"result: {record['work_dir']}/result.json")
    return 0
