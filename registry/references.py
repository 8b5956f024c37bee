"""Published reference rows a benchmark plugin ships as package data (``reference/*.json``), read into
``Reference`` entries of ``REFERENCES``; a row that breaks the schema is one ``LeaderboardError`` naming its file."""
from __future__ import annotations

import importlib.resources
import json
import sys
from collections.abc import Iterable
from typing import Any

from .errors import LeaderboardError
from .leaderboard import Reference
from .registries import REFERENCES

_KEYS = ("id", "dataset", "split", "setting", "metrics", "source", "caveat", "default", "tolerance")


def _parse_reference(data: Any, origin: str) -> Reference:
    """A reference row from its JSON object; LeaderboardError naming ``origin`` when it breaks the schema."""
    if not isinstance(data, dict) or data.get("reference") is not True:
        raise LeaderboardError(f"{origin} is not a reference row (it needs \"reference\": true); move it out of the "
                               f"reference folder.")
    missing = [k for k in _KEYS if k not in data]
    if missing:
        raise LeaderboardError(f"Reference row {origin} lacks keys {missing}; add them (see a shipped row, e.g. "
                               f"`tim-bench plugins` lists them under references, for the schema).")
    configs = data.get("configs", [])
    if not isinstance(configs, list) or not all(isinstance(c, str) for c in configs):
        raise LeaderboardError(f"Reference row {origin}: \"configs\" must be a list of config names (the recipes "
                               f"whose setting the row reports).")
    return Reference(**{k: data[k] for k in _KEYS}, notes=data.get("notes", {}),
                     tolerance_note=data.get("tolerance_note", ""), configs=tuple(configs),
                     model=str(data.get("model", "TIM")))


def reference_files(files: Iterable[tuple[str, str]]) -> list[Reference]:
    """Rows from ``(origin, text)`` pairs of reference row files; ids must be unique among them."""
    rows: dict[str, Reference] = {}
    for origin, text in files:
        try:
            ref = _parse_reference(json.loads(text), origin)
        except json.JSONDecodeError as exc:
            raise LeaderboardError(f"Reference row {origin} is not valid JSON ({exc}); fix the file.") from None
        if ref.id in rows:
            raise LeaderboardError(f"Reference row {origin} reuses the id '{ref.id}'; give it a unique id.")
        rows[ref.id] = ref
    return list(rows.values())


def register_reference_files(package: str, folder: str = "reference") -> list[Reference]:
    """Register in REFERENCES every ``*.json`` row in ``folder`` of ``package`` (installed as package data)."""
    root = importlib.resources.files(package) / folder
    files = [(f"{package}/{folder}/{f.name}", f.read_text(encoding="utf-8"))
             for f in sorted(root.iterdir(), key=lambda f: f.name) if f.name.endswith(".json")]
    module = sys._getframe(1).f_globals.get("__name__", package)
    rows = reference_files(files)
    for ref in rows:
        REFERENCES.register(ref.id, ref, module=module)
    return rows
