"""Write synthetic Perception Test: the official annotation JSON per split plus .npy features every 0.2 s."""
from __future__ import annotations

import argparse

from tim_bench_registry.synthetic import add_common_arguments, register_generator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, videos=100, videos_help="number of 15-35 s videos (default 100)",
                         visual_dim=1024, visual_help="visual feature width (recipe: 1024)",
                         audio_dim=2304, audio_help="audio feature width (recipe: 2304)",
                         signal=1.0, signal_help="prototype strength relative to unit noise")


def run(args: argparse.Namespace) -> int:
    from .synthetic import make_perception
    out = make_perception(args.out, args.videos, args.seed, args.visual_dim, args.audio_dim, args.signal)
    print(f"wrote synthetic Perception Test ({args.videos} videos) to {out}")
    return 0


register_generator("perception", __doc__, add_arguments, run)
