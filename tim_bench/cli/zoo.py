"""`tim-bench zoo [PATTERN]`: every shipped recipe, its published numbers, released checkpoint, extractor weights
and the commands that reproduce each number."""
from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("zoo", help="list every shipped recipe with its published numbers and released weights",
                       description="Every recipe the installed plugins ship (run it by name), with its benchmark, "
                                   "the published numbers it should reach (reference rows), the released TIM "
                                   "checkpoint and the extractor weights it needs (`tim-bench download NAME` fetches "
                                   "one into the cache, $TIM_BENCH_ZOO), and the commands that reproduce each "
                                   "number (DIR: the benchmark's data).")
    p.add_argument("pattern", nargs="?", default="*", help="wildcard filter on recipe names, e.g. 'ave_*'")
    p.add_argument("--json", action="store_true", help="print one JSON object per recipe instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tim_bench_registry import TimBenchError

    from ..modelzoo.catalog import recipes
    from ..modelzoo.download import cache_dir, is_cached
    found = recipes(args.pattern)
    if not found:
        raise TimBenchError(f"No shipped recipe matches '{args.pattern}'; `tim-bench zoo` lists them all.")
    if args.json:
        for r in found:
            print(json.dumps({
                "recipe": r.name, "kind": r.kind, "benchmark": r.benchmark, "path": str(r.path),
                "published": [{"reference": ref.id, "dataset": ref.dataset, "split": ref.split,
                               "metrics": dict(ref.metrics), "source": ref.source} for ref in r.references],
                "checkpoints": [_weights(w, is_cached(w)) for w in r.checkpoints],
                "extractor_weights": [_weights(w, is_cached(w)) for w in r.extractor_weights],
                "commands": r.commands()}))
        return 0
    print(f"cache: {cache_dir()}\n")
    for r in found:
        print(f"{r.name}  [{r.kind}, benchmark {r.benchmark}]  {r.path}")
        for ref in r.references:
            numbers = ", ".join(f"{k} {v:g}" for k, v in ref.metrics.items())
            print(f"  published   {ref.dataset} {ref.split}: {numbers}  ({ref.source})")
        if r.kind == "train":
            if not r.references:
                print("  published   none")
            print("  checkpoint  " + ("; ".join(_line(w) for w in r.checkpoints) or "none released"))
            for w in r.checkpoints:
                if w.note:
                    print(f"  note        {w.name}: {w.note}")
        print("  weights     " + ("; ".join(_line(w) for w in r.extractor_weights) or "none"))
        for command in r.commands():
            print(f"  $ {command}")
        print()
    return 0


def _weights(w, cached: bool) -> dict:
    return {"name": w.name, "file": w.filename, "url": w.url, "source": w.source, "sha256": w.sha256,
            "manifest": "/".join(w.manifest), "cached": cached, "note": w.note}


def _line(w) -> str:
    from ..modelzoo.download import is_cached
    where = w.url or f"no URL: {w.source}"
    return f"{w.name} ({w.filename}, {'cached' if is_cached(w) else 'not cached'}; {where})"
