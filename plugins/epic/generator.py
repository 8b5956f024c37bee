"""Write synthetic EPIC-KITCHENS-100 + EPIC-Sounds in the official layout (annotation CSVs, per-video .npy features).

With --annotations DIR the real annotation files under DIR give the segments and durations (their validation
videos carved into train and val, their test timestamps kept) and only the features are synthetic (see
tim_bench_plugins.epic.synthetic).
"""
from __future__ import annotations

import argparse
import sys

from tim_bench_registry.options import integer
from tim_bench_registry.synthetic import DIM, MAX_DIM, add_common_arguments, register_generator

DEFAULT_VIDEOS = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, out_help="output folder (becomes the EPIC configs' data_root)", videos=None,
                         videos_help=f"number of generated videos (default {DEFAULT_VIDEOS}); not with --annotations",
                         visual_dim=1024, visual_help="visual feature width (TIM's EPIC recipe: 1024)",
                         audio_dim=2304, audio_help="audio feature width (Auditory SlowFast: 2304)",
                         signal=0.5, signal_help="prototype strength relative to unit noise")
    parser.add_argument("--annotations", metavar="DIR",
                        help="folder with the real epic-kitchens-100/ and epic-sounds/ annotation files: keep their "
                             "segments and durations, generate only the features")
    parser.add_argument("--full", action="store_true",
                        help="with --annotations: all EPIC-100 videos (about 700, 100 h) with their real durations and "
                             "splits, generated segments; lower --visual-dim/--audio-dim to keep the disk use sane "
                             "(8 + 8 dims: about 0.4 GB)")
    parser.add_argument("--dims", metavar="VISUAL,AUDIO",
                        help="both feature widths at once, e.g. --dims 16,16 (overrides --visual-dim/--audio-dim)")
    parser.add_argument("--max-videos", type=integer(minimum=1),
                        help="with --annotations: keep the first K validation videos (the second of every four "
                             "becomes val)")


def run(args: argparse.Namespace) -> int:
    from tim_bench_registry import DataError

    from .synthetic import make_epic
    if args.annotations and args.videos is not None:
        raise DataError("--videos sets the number of generated videos; with --annotations use --max-videos.")
    if args.max_videos is not None and not args.annotations:
        raise DataError("--max-videos selects real videos; it needs --annotations DIR (use --videos otherwise).")
    if args.full and (not args.annotations or args.max_videos is not None):
        raise DataError("--full takes every real video's duration from --annotations DIR; give that, without "
                        "--max-videos.")
    visual_dim, audio_dim = args.visual_dim, args.audio_dim
    if args.dims:
        try:
            visual_dim, audio_dim = (DIM(d) for d in args.dims.split(","))
        except (ValueError, argparse.ArgumentTypeError):
            raise DataError(f"--dims {args.dims} must be two integers from 1 to {MAX_DIM}, VISUAL,AUDIO (e.g. "
                            f"16,16).") from None
    out = make_epic(args.out, args.videos or DEFAULT_VIDEOS, args.seed, visual_dim, audio_dim,
                    args.annotations, args.max_videos, args.signal, full=args.full,
                    progress=sys.stderr.isatty())  # a bar in a terminal, no \r lines in a redirected log
    source = ("all real EPIC-100 videos' durations from " if args.full else "the real annotations in ") + \
        str(args.annotations) if args.annotations else f"{args.videos or DEFAULT_VIDEOS} videos"
    print(f"wrote synthetic EPIC-KITCHENS-100 + EPIC-Sounds ({source}) to {out}")
    return 0


register_generator("epic", __doc__, add_arguments, run)
