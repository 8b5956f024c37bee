"""`tim-bench plugins`: every registered component, registry by registry, and where it came from."""
from __future__ import annotations

import argparse
import fnmatch

from tabulate import tabulate


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plugins", help="list registered datasets, features, extractors, heads, models, metrics, "
                                       "writers, challenges, generators, leaderboards, formats, references, "
                                       "original TIM datasets",
                       description="List what each registry holds and the plugin (built-in, entry point or "
                                   "custom_imports) that registered it.")
    p.add_argument("pattern", nargs="?", default="*", help="wildcard filter on names, e.g. 'My*'")
    p.add_argument("--imports", nargs="*", default=[], help="also import these modules (like custom_imports)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import tim_bench_registry as reg
    from tim_bench_registry.catalog import Catalog
    from tim_bench_registry.plugin_manager import skipped_plugins
    reg.plugin_manager()
    if args.imports:
        reg.import_custom(args.imports)
    for name, registry in reg.REGISTRIES.items():
        rows = [(key, reg.origin_of(obj, registry.module_of(key) if isinstance(registry, Catalog) else None))
                for key, obj in sorted(registry.module_dict.items(), key=lambda kv: kv[0].lower())
                if fnmatch.fnmatch(key.lower(), args.pattern.lower())]
        print(f"{name} ({len(rows)})")
        print(tabulate(rows, headers=["name", "from"]) if rows else "  (none)")
        print()
    skipped = skipped_plugins()
    if skipped:
        print(f"skipped plugins ({len(skipped)}): failed to load")
        print(tabulate(sorted(skipped.items()), headers=["entry point", "error"]))
    return 0
