"""`tim-bench extract-features`: raw audio/video -> per-video feature files in the original TIM layout."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import add_cfg_options, config_argument

#: exit status when some videos failed (the others were extracted and written)
EXIT_VIDEOS_FAILED = 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract-features", help="turn raw audio/video into feature files (Omnivore, VideoMAE, "
                                                "Auditory SlowFast, VGG-19, VGGish, log-mel, timm)",
                       description="Run the config's extract.extractor over every video of extract.split and "
                                   "write {out_folder}/{split}/{video_id}.npy ([T, A, D] or [T, A, H, W, D] "
                                   "float32) plus the interval table video_id,start_sec,stop_sec, the layout "
                                   "NpyFeatures reads. Videos already extracted by the same extractor config are "
                                   "skipped unless --overwrite. A video that fails does not stop the others; the "
                                   "failures are listed at the end.",
                       epilog=f"Exit status: 0 every video extracted or skipped; {EXIT_VIDEOS_FAILED} some video "
                              f"failed (listed); 2 bad config or input.")
    p.add_argument("config", type=config_argument(), help="config file with an extract section (configs/extract_logmel_demo.py) or its name")
    add_cfg_options(p, "data_root=data/epic extract.split=val")
    p.add_argument("--overwrite", action="store_true", help="extract again videos whose output already exists")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="a progress bar over videos with frames/s on stderr (default: when stderr is a terminal)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..extract import extract_features, speed
    cfg = load_config(args.config, args.cfg_options, required=("data_root", "extract"))
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    report = extract_features(cfg, overwrite=args.overwrite, progress=progress)
    split, root, out = cfg.extract.split, Path(cfg.get("data_root", ".")), report.features_cfg
    print(f"{report.stream} features ({report.dim}-d), split {split}: {len(report.extracted)} videos extracted, "
          f"{len(report.skipped)} skipped (already extracted)" + (f", {len(report.failed)} failed"
                                                                   if report.failed else ""))
    if speed(report):
        print(f"  speed:     {speed(report)} ({report.frames} frames, decode {report.decode_s:.1f} s, "
              f"model {report.model_s:.1f} s)")
    print(f"  files:     {root / out['folder'] / split}/")
    print(f"  intervals: {root / out['intervals'].format(split=split)}")
    print(f"read them with: features=dict({report.stream}=dict({', '.join(f'{k}={v!r}' for k, v in out.items())}))")
    if report.failed:
        total = len(report.failed) + len(report.extracted) + len(report.skipped)
        print(f"tim-bench extract-features: {len(report.failed)} of {total} videos failed (nothing was written for "
              f"them; fix them and rerun: the others are skipped):", file=sys.stderr)
        for video, reason in report.failed.items():
            print(f"  {video}: {reason}", file=sys.stderr)
        return EXIT_VIDEOS_FAILED
    return 0
