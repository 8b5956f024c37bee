"""Write synthetic Perception Test: the official annotation JSON per split plus .npy features every 0.2 s."""
from __future__ import annotations

import argparse

from tim_bench_registry import GENERATORS
from tim_bench_registry.options import finite, integer
from tim_bench_registry.synthetic import MAX_DIM, MAX_SIGNAL

DIM, SIGNAL = integer(minimum=1, maximum=MAX_DIM), finite(minimum=0, maximum=MAX_SIGNAL)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", help="output folder (becomes the config's data_root)")
    parser.add_argument("--videos", type=integer(minimum=1), default=100, help="number of 15-35 s videos (default 100)")
    parser.add_argument("--seed", type=integer(minimum=0), default=0,
                        help="seed of the random generator (default 0); the same seed writes the same data")
    parser.add_argument("--visual-dim", type=DIM, default=1024, help="visual feature width (recipe: 1024)")
    parser.add_argument("--audio-dim", type=DIM, default=2304, help="audio feature width (recipe: 2304)")
    parser.add_argument("--signal", type=SIGNAL, default=1.0, help="prototype strength relative to unit noise")


def run(args: argparse.Namespace) -> int:
    from .synthetic import make_perception
    out = make_perception(args.out, args.videos, args.seed, args.visual_dim, args.audio_dim, args.signal)
    print(f"wrote synthetic Perception Test ({args.videos} videos) to {out}")
    return 0


DESCRIPTION = __doc__.strip().splitlines()[0]


@GENERATORS.register_module(name="perception")
class PerceptionTestGenerator:
    """`tim-bench make-synthetic perception OUT`: the generator above, as a GENERATORS entry."""

    description = DESCRIPTION
    add_arguments = staticmethod(add_arguments)
    run = staticmethod(run)
