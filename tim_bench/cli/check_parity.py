"""`tim-bench check-parity`: reproduce a fixture recorded from the original TIM, output by output."""
from __future__ import annotations

import argparse

from tabulate import tabulate

from ..rules import NON_NEGATIVE, cli_number


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check-parity", help="compare the model with outputs recorded from the original TIM",
                       description="Build TIM from FIXTURE's constructor arguments, load its original-layout weights "
                                   "through the checkpoint converter, run its inputs in eval mode and print the max "
                                   "|difference| per output; exit 0 only if all are within --atol.")
    p.add_argument("fixture", help="a fixture .pt (e.g. ../shared/reference/fixture_tiny_av.pt)")
    p.add_argument("--atol", type=cli_number(NON_NEGATIVE), default=1e-5,
                   help="largest max |difference| an output may have to pass (default 1e-5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..original.parity import check_fixture
    diffs = check_fixture(args.fixture)
    rows = [(name, f"{d:.3g}", "ok" if d <= args.atol else "FAIL") for name, d in diffs.items()]
    print(tabulate(rows, headers=["output", "max |diff|", f"atol {args.atol:g}"]))
    failed = [name for name, d in diffs.items() if not d <= args.atol]
    print(f"FAIL: {', '.join(failed)}" if failed else f"PASS: {len(diffs)} outputs within {args.atol:g}")
    return 1 if failed else 0
