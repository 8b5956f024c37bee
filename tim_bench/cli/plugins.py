"""`tim-bench plugins`: every registered component, registry by registry, and where it came from."""
from __future__ import annotations

import argparse
import fnmatch
import sys

from tabulate import tabulate


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plugins", help="list registered datasets, features, extractors, heads, models, metrics, "
                                       "writers, challenges, generators, leaderboards, formats, references, "
                                       "original TIM datasets",
                       description="List what each registry holds and the plugin (built-in, entry point or "
                                   "custom_imports) that registered it.")
    p.add_argument("pattern", nargs="?", default="*",
                   help="wildcard filter on names, case-insensitive, e.g. 'ave*' (only registries with a match are "
                        "listed; no match at all exits 1)")
    p.add_argument("--imports", nargs="*", default=[], help="also import these modules (like custom_imports)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import tim_bench_registry as reg
    from tim_bench_registry.catalog import Catalog
    from tim_bench_registry.plugin_manager import skipped_plugins
    reg.plugin_manager()
    if args.imports:
        reg.import_custom(args.imports)
    filtered, matched = args.pattern != "*", 0
    for name, registry in reg.REGISTRIES.items():
        rows = [(key, reg.origin_of(obj, registry.module_of(key) if isinstance(registry, Catalog) else None))
                for key, obj in sorted(registry.module_dict.items(), key=lambda kv: kv[0].lower())
                if fnmatch.fnmatch(key.lower(), args.pattern.lower())]
        matched += len(rows)
        if rows or not filtered:  # a filtered listing shows only the registries it matched in
            print(f"{name} ({len(rows)})")
            print(tabulate(rows, headers=["name", "from"]) if rows else "  (none)")
            print()
    if filtered and not matched:
        print(f"tim-bench plugins: no registered name matches '{args.pattern}' (a case-insensitive wildcard, e.g. "
              f"'ave*' or '*epic*'); `tim-bench plugins` lists them all.", file=sys.stderr)
        return 1
    skipped = skipped_plugins()
    if skipped:
        print(f"skipped plugins ({len(skipped)}): failed to load")
        print(tabulate(sorted(skipped.items()), headers=["entry point", "error"]))
    return 0
