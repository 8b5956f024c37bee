"""`tim-bench make-synthetic`: a dataset's real on-disk format filled with a learnable planted signal.

Each generator module in tim_bench.synthetic exposes ``add_arguments(parser)`` and ``run(args) -> int``.
``--layout original`` also converts the result into the original TIM's pickle layout
(tim_bench.synthetic.original_layout).
"""
from __future__ import annotations

import argparse
import functools
import importlib
import shlex
from collections.abc import Callable
from pathlib import Path

#: (sub-command name, module under tim_bench.synthetic, help)
GENERATORS = (
    ("ave", "ave_cli", "AVE: Annotations.txt, *_order.h5, visual/audio/labels .h5"),
    ("epic", "epic_cli", "EPIC-KITCHENS-100 + EPIC-Sounds: official CSVs, per-video .npy features"),
    ("perception", "perception_cli", "Perception Test: all_{train,valid}.json, .npy features, interval CSVs"),
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("make-synthetic", help="write synthetic data in a dataset's official layout",
                       description="Write annotations and features in the official on-disk format of DATASET, with "
                                   "class prototypes planted in the features so TIM can learn them.")
    kinds = p.add_subparsers(dest="kind", metavar="DATASET", required=True)
    for name, module, help_text in GENERATORS:
        gen = importlib.import_module(f"tim_bench.synthetic.{module}")
        parser = kinds.add_parser(name, help=help_text, description=gen.__doc__)
        gen.add_arguments(parser)
        parser.add_argument("--layout", choices=("official", "original"), default="official",
                            help="official (default): the dataset's own release format; original: also the original "
                                 "TIM's pickles and per-video .npy (OUT/official holds the official files)")
        parser.set_defaults(func=functools.partial(_run, name, gen.run))


def _run(kind: str, generate: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Write the official layout; with ``--layout original`` write it under OUT/official and convert it into OUT."""
    if args.layout == "official":
        return generate(args)
    from tim_bench_registry import TimBenchError

    from ..synthetic.original_layout import write_original_layout
    if getattr(args, "omnivore_asf", False):
        raise TimBenchError("--layout original converts the AVE VGG layout only; drop --omnivore-asf (or use the "
                            "official layout with configs/ave_omnivore_asf.py).")
    out = Path(args.out)
    args.out = str(out / "official")
    status = generate(args)
    flags = write_original_layout(kind, args.out, out)
    print(f"wrote the original TIM layout of it to {out}; its run_net.py data flags:\n  {shlex.join(flags)}")
    return status
