"""Write synthetic AVE in the official layout (Annotations.txt, *_order.h5, feature and label .h5 files)."""
from __future__ import annotations

import argparse

from tim_bench_registry import GENERATORS
from tim_bench_registry.options import finite, integer
from tim_bench_registry.synthetic import MAX_DIM, MAX_SIGNAL

DIM, SIGNAL = integer(minimum=1, maximum=MAX_DIM), finite(minimum=0, maximum=MAX_SIGNAL)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", help="output folder (becomes the config's data_root)")
    parser.add_argument("--videos", type=integer(minimum=1), default=400, help="number of 10-s videos (default 400)")
    parser.add_argument("--seed", type=integer(minimum=0), default=0,
                        help="seed of the random generator (default 0); the same seed writes the same data")
    parser.add_argument("--visual-dim", type=DIM, default=512, help="VGG map channels (official: 512)")
    parser.add_argument("--audio-dim", type=DIM, default=128, help="VGGish width (official: 128)")
    parser.add_argument("--signal", type=SIGNAL, default=1.0,
                        help="scale of the planted class signal (1.0: a per-second linear probe gets ~70-85 %%)")
    parser.add_argument("--omnivore-asf", action="store_true",
                        help="also write the Omnivore+Auditory-SlowFast .npy layout for configs/ave_omnivore_asf.py")


def run(args: argparse.Namespace) -> int:
    from .synthetic import make_ave
    out = make_ave(args.out, args.videos, args.seed, args.visual_dim, args.audio_dim, args.signal, args.omnivore_asf)
    print(f"wrote synthetic AVE ({args.videos} videos) to {out}")
    return 0


DESCRIPTION = __doc__.strip().splitlines()[0]


@GENERATORS.register_module(name="ave")
class AVEGenerator:
    """`tim-bench make-synthetic ave OUT`: the generator above, as a GENERATORS entry."""

    description = DESCRIPTION
    add_arguments = staticmethod(add_arguments)
    run = staticmethod(run)
