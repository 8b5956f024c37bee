"""The results store: one JSON file per run, never overwritten, written atomically.

The store is a folder (``leaderboard/results`` under the current directory unless a config's
``results_dir`` or ``--results-dir`` says otherwise) holding ``<run_id>.json``, one run record
each (the same dict a run writes as ``result.json`` in its work dir).
"""
from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..io import atomic_path
from .errors import LeaderboardError

DEFAULT_RESULTS_DIR = Path("leaderboard") / "results"

#: Every key a run record carries (the runner's contract with the leaderboard).
RECORD_KEYS: tuple[str, ...] = (
    "run_id", "config_name", "config_path", "config_hash", "dataset", "features", "model", "seed", "split",
    "metrics", "val_metrics", "main_metric", "epochs_trained", "best_epoch", "wall_time_s", "device",
    "torch_version", "package_versions", "git_revision", "git_dirty", "work_dir", "predictions", "created",
)
#: The keys tables and comparisons read; a stored file without them cannot be shown.
_TABLE_KEYS: tuple[str, ...] = ("run_id", "config_name", "config_hash", "dataset", "seed", "split", "metrics",
                                "created")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def recipe_of(record: Mapping[str, Any]) -> str:
    """The key that groups a record with the other seeds of its recipe: ``recipe_hash`` when the runner
    recorded one, else ``config_hash`` (then each seed stays a row of its own, never wrongly merged)."""
    return str(record.get("recipe_hash") or record["config_hash"])


def store_dir(path: str | Path | None = None) -> Path:
    """The store folder: ``path`` when given, else ``leaderboard/results`` under the current directory."""
    return Path(path) if path is not None else Path.cwd() / DEFAULT_RESULTS_DIR


def add_record(record: Mapping[str, Any], results_dir: str | Path | None = None) -> Path:
    """Store ``record`` as ``<results_dir>/<run_id>.json`` and return that path.

    The file appears complete or not at all, and an existing record of the same run id is never
    replaced (a second run must get a new id).
    """
    missing = [k for k in RECORD_KEYS if k not in record]
    if missing:
        raise LeaderboardError(f"Run record {record.get('run_id', '(no run_id)')} lacks keys {missing}; "
                               f"the runner must fill every key of tim_bench.leaderboard.store.RECORD_KEYS.")
    run_id = str(record["run_id"])
    if not _RUN_ID.match(run_id):
        raise LeaderboardError(f"Run id '{run_id}' cannot be a file name; use letters, digits, '.', '_', '+' "
                               f"and '-' only.")
    path = store_dir(results_dir) / f"{run_id}.json"
    _write_new(path, json.dumps(_jsonable(dict(record)), indent=2) + "\n")
    return path


def _write_new(path: Path, text: str) -> None:
    """Write ``text`` atomically to ``path``, refusing to replace another run's record."""
    try:
        with atomic_path(path, exclusive=True) as tmp:
            tmp.write_text(text)
    except FileExistsError:
        raise LeaderboardError(f"The results store already holds {path}; a run id must be unique, so give this "
                               f"run a new id instead of overwriting that record.") from None


def _jsonable(x: Any) -> Any:
    """Plain JSON types: numpy scalars become Python numbers and NaN/inf become null (valid JSON)."""
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, Path):
        return str(x)
    return x


def read_record(path: str | Path) -> dict[str, Any]:
    """One record from a store file or a work dir's ``result.json``."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise LeaderboardError(f"Run record {path} does not exist; pass a run id from the results store or the "
                               f"path of a result.json.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LeaderboardError(f"{path} is not valid JSON ({exc}); delete it or restore it from the run's "
                               f"work dir (result.json).") from None
    missing = [k for k in _TABLE_KEYS if k not in record] if isinstance(record, dict) else list(_TABLE_KEYS)
    if missing:
        raise LeaderboardError(f"{path} is not a run record (it lacks {missing}); remove it from the results store.")
    return record


def _folders(dirs: str | Path | Iterable[str | Path] | None) -> list[Path]:
    return [store_dir(d) for d in ([dirs] if dirs is None or isinstance(dirs, (str, Path)) else dirs)]


def load_records(dirs: str | Path | Iterable[str | Path] | None = None) -> list[dict[str, Any]]:
    """Every record in one or several store folders (missing folders hold none), oldest first."""
    records: dict[str, dict[str, Any]] = {}
    for folder in _folders(dirs):
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
            record = read_record(path)
            records.setdefault(record["run_id"], record)
    return sorted(records.values(), key=lambda r: (str(r["created"]), r["run_id"]))


def find_record(ref: str, dirs: str | Path | Iterable[str | Path] | None = None) -> dict[str, Any]:
    """The record named by ``ref``: a JSON file path, a work dir holding result.json, a run id or its unique prefix."""
    path = Path(ref)
    if path.is_file():
        return read_record(path)
    if (path / "result.json").is_file():
        return read_record(path / "result.json")
    records = load_records(dirs)
    ids = [r["run_id"] for r in records]
    matches = [r for r in records if r["run_id"] == ref] or [r for r in records if r["run_id"].startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise LeaderboardError(f"Run '{ref}' is ambiguous: it starts {len(matches)} run ids "
                               f"({', '.join(r['run_id'] for r in matches[:5])}); give more of the id.")
    close = difflib.get_close_matches(ref, ids, n=3, cutoff=0.3)
    searched = ", ".join(map(str, _folders(dirs)))
    raise LeaderboardError(f"No run '{ref}' in the results store {searched}" +
                           (f" (did you mean {', '.join(close)}?)" if close else "") +
                           "; list the runs with `tim-bench leaderboard`, pass --results-dir, or pass a result.json "
                           "path.")
