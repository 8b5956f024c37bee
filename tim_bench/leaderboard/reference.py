"""Published TIM numbers as reference rows: loaded, validated, and matched to a dataset's table.

The rows ship as JSON files in the repo's ``leaderboard/reference/``, which installs as the data
package ``tim_bench_reference`` (see pyproject), so they are found in an editable checkout and in
a wheel install alike. Extra folders of rows in the same schema can be passed in (``--reference-dir``).
"""
from __future__ import annotations

import importlib.resources
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import LeaderboardError
from .headline import DatasetSpec

_KEYS = ("id", "dataset", "split", "setting", "metrics", "source", "caveat", "default", "tolerance")


@dataclass(frozen=True)
class Reference:
    """One published row: a setting of TIM on one dataset and the numbers reported for it."""

    id: str
    dataset: str
    split: str
    setting: str
    metrics: Mapping[str, float]
    source: str
    caveat: str
    default: bool
    tolerance: float
    notes: Mapping[str, str] = field(default_factory=dict)
    tolerance_note: str = ""
    #: the configs whose recipe is this row's setting; only their runs are compared with it (empty: any run)
    configs: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How the row is named in a table: unmistakably published, not measured."""
        return f"[published] TIM, {self.setting}"


def _parse(data: Any, origin: str) -> Reference:
    if not isinstance(data, dict) or data.get("reference") is not True:
        raise LeaderboardError(f"{origin} is not a reference row (it needs \"reference\": true); move it out of the "
                               f"reference folder.")
    missing = [k for k in _KEYS if k not in data]
    if missing:
        raise LeaderboardError(f"Reference row {origin} lacks keys {missing}; add them (see "
                               f"leaderboard/reference/tim_ave_vgg.json for the schema).")
    configs = data.get("configs", [])
    if not isinstance(configs, list) or not all(isinstance(c, str) for c in configs):
        raise LeaderboardError(f"Reference row {origin}: \"configs\" must be a list of config names (the recipes "
                               f"whose setting the row reports).")
    return Reference(**{k: data[k] for k in _KEYS}, notes=data.get("notes", {}),
                     tolerance_note=data.get("tolerance_note", ""), configs=tuple(configs))


def load_references(extra_dirs: Iterable[str | Path] = ()) -> list[Reference]:
    """The shipped reference rows, then those in ``extra_dirs``; ids must be unique."""
    sources: list[tuple[str, str]] = [
        (f"tim_bench_reference/{f.name}", f.read_text())
        for f in sorted(importlib.resources.files("tim_bench_reference").iterdir(), key=lambda f: f.name)
        if f.name.endswith(".json")]
    for folder in extra_dirs:
        folder = Path(folder)
        if not folder.is_dir():
            raise LeaderboardError(f"Reference folder {folder} does not exist; pass a folder of reference JSON files.")
        sources += [(str(p), p.read_text()) for p in sorted(folder.glob("*.json"))]
    refs: dict[str, Reference] = {}
    for origin, text in sources:
        try:
            ref = _parse(json.loads(text), origin)
        except json.JSONDecodeError as exc:
            raise LeaderboardError(f"Reference row {origin} is not valid JSON ({exc}); fix the file.") from None
        if ref.id in refs:
            raise LeaderboardError(f"Reference row {origin} reuses the id '{ref.id}'; give it a unique id.")
        refs[ref.id] = ref
    return list(refs.values())


def references_for(spec: DatasetSpec, refs: Iterable[Reference]) -> list[Reference]:
    """The rows shown in ``spec``'s table, in the order of ``spec.reference_datasets``."""
    refs = list(refs)
    return [r for d in spec.reference_datasets for r in refs if r.dataset == d]


def reference_for_metric(spec: DatasetSpec, refs: Iterable[Reference], metric: str,
                         config_name: str | None = None) -> Reference | None:
    """The row that deltas and checks of ``config_name``'s runs use for ``metric``: a row naming that config
    in ``configs``, else a default row that names no configs; never a row of another recipe's setting."""
    rows = [r for r in references_for(spec, refs) if metric in r.metrics]
    named = [r for r in rows if config_name is not None and config_name in r.configs]
    return named[0] if named else next((r for r in rows if r.default and not r.configs), None)
