"""Write synthetic AVE in the official layout (Annotations.txt, *_order.h5, feature and label .h5 files)."""
from __future__ import annotations

import argparse

from tim_bench_registry.synthetic import add_common_arguments, register_generator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, videos=400, videos_help="number of 10-s videos (default 400)",
                         visual_dim=512, visual_help="VGG map channels (official: 512)",
                         audio_dim=128, audio_help="VGGish width (official: 128)", signal=1.0,
                         signal_help="scale of the planted class signal (1.0: a per-second linear probe gets "
                                     "~70-85 %%)")
    parser.add_argument("--omnivore-asf", action="store_true",
                        help="also write the Omnivore+Auditory-SlowFast .npy layout for configs/ave_omnivore_asf.py")


def run(args: argparse.Namespace) -> int:
    from .synthetic import make_ave
    out = make_ave(args.out, args.videos, args.seed, args.visual_dim, args.audio_dim, args.signal, args.omnivore_asf)
    print(f"wrote synthetic AVE ({args.videos} videos) to {out}")
    return 0


register_generator("ave", __doc__, add_arguments, run)
