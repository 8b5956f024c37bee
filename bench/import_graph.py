"""Print tim-bench's import graph between layers and packages, and fail on a cycle or an upward arrow.

Reads every module's imports with ``ast`` (module level and inside functions alike), maps the
folders to their installed names (pyproject's package-dir) and groups modules into units::

    python bench/import_graph.py            # the unit graph, then "no cycles, no upward arrows"
    python bench/import_graph.py --modules  # every module-level arrow

Layers, lowest first: the registry (the contract), the plugins, the engine's units, the CLI. An arrow
may only point down or sideways within the engine's unit order (``ENGINE_ORDER``).
"""
from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"tim_bench": ROOT / "tim_bench", "tim_bench_registry": ROOT / "registry",
            "tim_bench_plugins": ROOT / "plugins"}
#: Engine units, lowest first: a unit may import the ones before it, never one after it.
#: ``tim_bench.__init__`` (the package itself, unit "tim_bench.__init__") re-exports the Python API: the top.
ENGINE_ORDER = ("tim_bench", "tim_bench.io", "tim_bench.user_dirs", "tim_bench.safe_load", "tim_bench.distributed",
                "tim_bench.config", "tim_bench.data", "tim_bench.model", "tim_bench.original", "tim_bench.evaluation",
                "tim_bench.leaderboard", "tim_bench.modelzoo", "tim_bench.extract", "tim_bench.runner",
                "tim_bench.components", "tim_bench.launch", "tim_bench.api", "tim_bench.cli", "tim_bench.__init__")


def modules() -> dict[str, Path]:
    """Installed module name -> source file, for every module of the three packages."""
    out = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([package, *parts])] = path
    return out


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The known modules that ``name`` imports (absolute and relative, anywhere in the file)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(parent + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def unit(module: str) -> str:
    """The layer unit of a module: registry, one plugin package, an engine unit, or the CLI."""
    if module.startswith("tim_bench_registry"):
        return "tim_bench_registry"
    if module.startswith("tim_bench_plugins"):
        return ".".join(module.split(".")[:2])
    if module == "tim_bench":
        return "tim_bench.__init__"
    for candidate in reversed(ENGINE_ORDER):  # the longest name first: tim_bench.io before tim_bench
        if module == candidate or module.startswith(candidate + "."):
            return candidate
    return module


def rank(u: str) -> tuple[int, int]:
    """(layer, position): registry 0, plugins 1, engine 2 (by ENGINE_ORDER), anything else 3."""
    if u == "tim_bench_registry":
        return (0, 0)
    if u.startswith("tim_bench_plugins"):
        return (1, 0)
    if u in ENGINE_ORDER:
        return (2, ENGINE_ORDER.index(u))
    return (3, 0)


def graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(module -> imported modules, unit -> imported units)."""
    mods = modules()
    edges = {m: imports_of(m, p, set(mods)) for m, p in mods.items()}
    units: dict[str, set[str]] = defaultdict(set)
    for m, targets in edges.items():
        for t in targets:
            if unit(t) != unit(m):
                units[unit(m)].add(unit(t))
    return edges, units


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each a cycle of imports."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for v in edges:
        if v not in index:
            visit(v)
    return out


def problems() -> list[str]:
    """Every module cycle, every upward arrow between units and every plugin-to-plugin arrow, as sentences."""
    edges, units = graph()
    found = [f"import cycle: {' <-> '.join(c)}" for c in cycles(edges)]
    for m, targets in sorted(edges.items()):
        for t in sorted(targets):
            a, b = unit(m), unit(t)
            if a == b:
                continue
            if rank(b) > rank(a):
                found.append(f"upward arrow: {m} ({a}) imports {t} ({b})")
            elif a.startswith("tim_bench_plugins") and b.startswith("tim_bench_plugins"):
                found.append(f"plugin imports another plugin: {m} imports {t}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", action="store_true", help="print every module arrow, not only units")
    args = parser.parse_args(argv)
    edges, units = graph()
    if args.modules:
        for m in sorted(edges):
            for t in sorted(edges[m]):
                print(f"{m} -> {t}")
    else:
        for u in sorted(units, key=rank):
            print(f"{u} -> {', '.join(sorted(units[u], key=rank))}")
    found = problems()
    print("\n".join(found) if found else "no cycles, no upward arrows, no plugin imports another")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
