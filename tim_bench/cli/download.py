"""`tim-bench download NAME...`: fetch released weights (a zoo name) into the per-user cache, verified."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("download", help="fetch a released checkpoint or extractor weights into the cache, verified",
                       description="Fetch each zoo entry (`tim-bench zoo` lists them) into the cache ($TIM_BENCH_ZOO, "
                                   "else ~/.cache/tim-bench/zoo), resuming a partial download, and verify it before "
                                   "it is used: its sha256 where the release has one, and a strict "
                                   "torch.load(weights_only=True) whose keys, shapes and dtypes must equal its "
                                   "state-dict manifest. A file that fails is named and removed. "
                                   "$TIM_BENCH_ZOO_MIRROR (a base URL) replaces every origin.")
    p.add_argument("names", nargs="+", metavar="NAME", help="zoo names, e.g. tim_ave vggish")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..modelzoo.download import fetch
    for name in args.names:
        fetched = fetch(name)
        print(f"{name}: {fetched.path} (sha256 {fetched.sha256}, verified)")
    return 0
