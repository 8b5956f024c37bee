"""`tim-bench predict`: per-segment scores of a split, for submissions, comparisons and the original's tools."""
from __future__ import annotations

import argparse

from .common import add_checkpoint_args, add_config_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="write per-segment predictions of a split",
                       description="Average every segment's logits over the windows that query it and write them "
                                   "(with ids and labels) to a predictions .npz.")
    add_config_args(p, work_dir="where log.txt and (without --out) predictions_<split>.npz go, used exactly as "
                                "given (default: the run folder given as CONFIG, else the config's work_dir, else a "
                                "new folder work_dirs/<config>/<time>)", run_dir=True)
    add_checkpoint_args(p)
    p.add_argument("--split", default="test", help="split to predict (default test)")
    p.add_argument("--out", help="output .npz (default WORK_DIR/predictions_<split>.npz)")
    p.add_argument("--original-dict", metavar="PATH",
                   help="also write the dict the original TIM's --extract_feats saves (action, audio, "
                        "v_narration_ids, a_narration_ids, verb, noun: numpy arrays, ids prefixed v_/a_) "
                        "with pickle, as the original; read it with pickle.load or pd.read_pickle")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..outputs import check_output_file, same_file

    from ..runner.jobs import predict, prediction_inputs
    if args.original_dict:
        if args.out and same_file(args.out, args.original_dict):
            from tim_bench_registry import TimBenchError
            raise TimBenchError(f"--out and --original-dict both name {args.out}; give each output its own file.")
        check_output_file(args.original_dict, prediction_inputs(args.config, args.checkpoint, args.cfg_options),
                          force=True, option="--original-dict", example="original_dict.pkl")
    path = predict(args.config, args.checkpoint, args.split, args.out, args.cfg_options, args.work_dir,
                   args.trust_checkpoint)
    if path is not None:  # rank 0 only
        print(path)
        if args.original_dict:
            from tim_bench_registry.predictions import Predictions

            from ..original.original_dict import export_original_predictions
            print(export_original_predictions(Predictions.load(path), args.original_dict))
    return 0
