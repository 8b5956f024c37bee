"""`tim-bench make-synthetic`: a dataset's real on-disk format filled with a learnable planted signal.

Each generator module in tim_bench.synthetic exposes ``add_arguments(parser)`` and ``run(args) -> int``.
"""
from __future__ import annotations

import argparse
import importlib

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
        parser.set_defaults(func=gen.run)
