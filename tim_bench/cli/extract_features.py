"""`tim-bench extract-features`: raw audio/video -> per-video feature files in the original TIM layout."""
from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_cfg_options


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract-features", help="turn raw audio/video into feature files (log-mel, timm)",
                       description="Run the config's extract.extractor over every video of extract.split and "
                                   "write {out_folder}/{split}/{video_id}.npy ([T, A, D] float32) plus the interval "
                                   "table video_id,start_sec,stop_sec, the layout NpyFeatures reads. Videos already "
                                   "extracted are skipped unless --overwrite.")
    p.add_argument("config", help="config file with an extract section (configs/extract_logmel_demo.py) or its name")
    add_cfg_options(p, "data_root=data/epic extract.split=val")
    p.add_argument("--overwrite", action="store_true", help="extract again videos whose output already exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..extract import extract_features
    cfg = load_config(args.config, args.cfg_options, required=("data_root", "extract"))
    report = extract_features(cfg, overwrite=args.overwrite)
    split, root, out = cfg.extract.split, Path(cfg.get("data_root", ".")), report.features_cfg
    print(f"{report.stream} features ({report.dim}-d), split {split}: {len(report.extracted)} videos extracted, "
          f"{len(report.skipped)} skipped (already extracted)")
    print(f"  files:     {root / out['folder'] / split}/")
    print(f"  intervals: {root / out['intervals'].format(split=split)}")
    print(f"read them with: features=dict({report.stream}=dict({', '.join(f'{k}={v!r}' for k, v in out.items())}))")
    return 0
