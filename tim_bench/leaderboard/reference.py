"""Published reference rows: gathered from the benchmark plugins and extra folders, matched to a dataset's table.

Each benchmark plugin ships its rows as JSON files in its own ``reference/`` folder and registers them
in ``REFERENCES`` (``tim_bench_registry.references.register_reference_files``). Extra folders of rows in
the same schema can be passed in (``--reference-dir``).
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tim_bench_registry import REFERENCES, LeaderboardSpec, Reference, plugin_manager
from tim_bench_registry.references import reference_files

from .errors import LeaderboardError

__all__ = ["Reference", "load_references", "reference_for_metric", "references_for"]


def load_references(extra_dirs: Iterable[str | Path] = ()) -> list[Reference]:
    """The rows the installed benchmark plugins ship, then those in ``extra_dirs``; ids must be unique."""
    plugin_manager()  # benchmark plugins register their rows when they load
    registered = REFERENCES.module_dict
    shipped = [registered[name] for name in sorted(registered)]
    sources: list[tuple[str, str]] = []
    for folder in extra_dirs:
        folder = Path(folder)
        if not folder.is_dir():
            raise LeaderboardError(f"Reference folder {folder} does not exist; pass a folder of reference JSON files.")
        sources += [(str(p), p.read_text()) for p in sorted(folder.glob("*.json"))]
    refs = {ref.id: ref for ref in shipped}
    for (origin, _), ref in zip(sources, reference_files(sources)):
        if ref.id in refs:
            raise LeaderboardError(f"Reference row {origin} reuses the id '{ref.id}' of a shipped row; give it a "
                                   f"unique id.")
        refs[ref.id] = ref
    return list(refs.values())


def references_for(spec: LeaderboardSpec, refs: Iterable[Reference]) -> list[Reference]:
    """The rows shown in ``spec``'s table, in the order of ``spec.reference_datasets``."""
    refs = list(refs)
    return [r for d in spec.reference_datasets for r in refs if r.dataset == d]


def reference_for_metric(spec: LeaderboardSpec, refs: Iterable[Reference], metric: str,
                         config_name: str | None = None) -> Reference | None:
    """The row that deltas and checks of ``config_name``'s runs use for ``metric``: a row naming that config
    in ``configs``, else a default row that names no configs; never a row of another recipe's setting."""
    rows = [r for r in references_for(spec, refs) if metric in r.metrics]
    named = [r for r in rows if config_name is not None and config_name in r.configs]
    return named[0] if named else next((r for r in rows if r.default and not r.configs), None)
