"""The results store: one JSON file per run, never overwritten, written atomically.

The store is a folder holding ``<run_id>.json``, one run record
each (the same dict a run writes as ``result.json`` in its work dir). Its location, first that applies:
``--results-dir``, the config's ``results_dir``, the environment variable ``TIM_BENCH_RESULTS``, else the
per-user data folder (``default_store``), so that runs started from different folders land in one store.
"""
from __future__ import annotations

import difflib
import json
import logging
import math
import os
import re
from datetime import datetime
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from tim_bench_registry import RunRecord

from ..io import atomic_path, probe_writable
from ..user_dirs import user_data_dir
from .errors import LeaderboardError

#: Environment variable naming the results store folder (read when no --results-dir or results_dir is given).
RESULTS_ENV = "TIM_BENCH_RESULTS"
log = logging.getLogger("tim_bench.leaderboard")

#: Every key a new run record carries (the runner's contract with the leaderboard; see ``RunRecord``).
RECORD_KEYS: tuple[str, ...] = RunRecord.REQUIRED
#: The keys tables and comparisons read; a stored file without them cannot be shown.
_TABLE_KEYS: tuple[str, ...] = ("run_id", "config_name", "config_hash", "dataset", "seed", "split", "metrics",
                                "created")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def recipe_of(record: Mapping[str, Any]) -> str:
    """The key that groups a record with the other seeds of its recipe: ``recipe_hash`` when the runner
    recorded one, else ``config_hash`` (then each seed stays a row of its own, never wrongly merged)."""
    return str(record.get("recipe_hash") or record["config_hash"])


def default_store() -> Path:
    """The store when none is named: ``$TIM_BENCH_RESULTS``, else ``results`` in the per-user data folder
    (``user_dirs.user_data_dir``). Never relative to the current directory."""
    if os.environ.get(RESULTS_ENV):
        return Path(os.environ[RESULTS_ENV]).expanduser().absolute()
    return user_data_dir() / "results"


def store_dir(path: str | Path | None = None) -> Path:
    """The store folder: ``path`` when given, else ``default_store()``."""
    return Path(path) if path is not None else default_store()


def add_record(record: RunRecord | Mapping[str, Any], results_dir: str | Path | None = None) -> Path:
    """Store ``record`` as ``<results_dir>/<run_id>.json`` and return that path.

    The file appears complete or not at all, and an existing record of the same run id is never
    replaced (a second run must get a new id).
    """
    if not isinstance(record, RunRecord):
        missing = [k for k in RECORD_KEYS if k not in record]
        if missing:
            raise LeaderboardError(f"Run record {record.get('run_id', '(no run_id)')} lacks keys {missing}; "
                                   f"the runner must fill every key of tim_bench.leaderboard.store.RECORD_KEYS.")
        record = RunRecord.from_dict(record)
    record = record.to_dict()
    run_id = str(record["run_id"])
    if not _RUN_ID.match(run_id):
        raise LeaderboardError(f"Run id '{run_id}' cannot be a file name; use letters, digits, '.', '_', '+' "
                               f"and '-' only.")
    folder = store_dir(results_dir)
    same = _same_model(record, folder)
    if same is not None:
        raise LeaderboardError(f"The results store already holds {same}, a record of the same model (work dir "
                               f"{record['work_dir']}, predictions {record['predictions']}); one trained model gets "
                               f"one record, so this run ({run_id}) is not stored again.")
    path = folder / f"{run_id}.json"
    _write_new(path, json.dumps(_jsonable(dict(record)), indent=2) + "\n")
    return path


def is_recorded(record: Mapping[str, Any], results_dir: str | Path | None = None) -> bool:
    """Whether the store holds ``record``: its run id, or another record of the same trained model."""
    folder = store_dir(results_dir)
    return (folder / f"{record.get('run_id')}.json").is_file() or _same_model(record, folder) is not None


def model_key(record: Mapping[str, Any]) -> tuple[str, str] | None:
    """What identifies one trained model: its work dir and its predictions (their sha256 when recorded, else the
    file's path), so a run recorded twice (e.g. a ``--resume`` of a finished run) is recognised; None when the
    record names neither."""
    predictions = record.get("predictions_sha256") or record.get("predictions")
    if not record.get("work_dir") or not predictions:
        return None
    return str(record["work_dir"]), str(predictions)


def _same_model(record: Mapping[str, Any], folder: Path) -> Path | None:
    """The stored file of another record of the model ``record`` describes, if any (unreadable files are ignored)."""
    key = model_key(record)
    if key is None:
        return None
    for path in _record_files(folder):
        try:
            other = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(other, dict) and model_key(other) == key:
            return path
    return None


def check_writable(results_dir: str | Path | None = None) -> Path:
    """The store folder, created if needed and proven writable (call it before a long run, not after)."""
    folder = store_dir(results_dir)
    try:
        probe_writable(folder)
    except OSError as exc:
        raise LeaderboardError(_store_problem(folder, exc, "write to")) from None
    return folder


def _store_problem(folder: Path, exc: OSError, verb: str) -> str:
    """One sentence for an OS error on the store folder, with the fix."""
    if isinstance(exc, (NotADirectoryError, FileExistsError)) or (folder.exists() and not folder.is_dir()):
        return (f"Results store {folder} is not a folder (it is a file, or lies under one); give --results-dir (or "
                f"the config's results_dir) a folder.")
    return (f"Cannot {verb} the results store {folder} ({exc.strerror or type(exc).__name__}); fix its permissions "
            f"or give another --results-dir.")


def _write_new(path: Path, text: str) -> None:
    """Write ``text`` atomically to ``path``, refusing to replace another run's record."""
    try:
        with atomic_path(path, exclusive=True) as tmp:
            tmp.write_text(text)
    except FileExistsError as exc:
        if not path.parent.is_dir():
            raise LeaderboardError(_store_problem(path.parent, exc, "write to")) from None
        raise LeaderboardError(f"The results store already holds {path}; a run id must be unique, so give this "
                               f"run a new id instead of overwriting that record.") from None
    except OSError as exc:
        raise LeaderboardError(_store_problem(path.parent, exc, "write to")) from None


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


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _record_problem(record: Any) -> str | None:
    """Why a parsed JSON value cannot be shown as a run record (a phrase after "it"), or None when it can."""
    if not isinstance(record, dict):
        return f"holds a JSON {type(record).__name__}, not a run record object"
    missing = [k for k in _TABLE_KEYS if k not in record]
    if missing:
        return f"is not a run record (it lacks {missing})"
    for key in ("run_id", "config_name", "config_hash", "dataset", "split", "created"):
        if not isinstance(record[key], str) or not record[key]:
            return f"has {key} {record[key]!r}, which is not a non-empty string"
    if not isinstance(record["seed"], int) or isinstance(record["seed"], bool):
        return f"has seed {record['seed']!r}, which is not an integer"
    try:
        datetime.fromisoformat(record["created"])
    except ValueError:
        return f"has created {record['created']!r}, which is not an ISO date-time"
    # the tables read "metrics" and any "metrics_<variant>" (e.g. metrics_original_selection)
    for key in [k for k in record if k == "metrics" or (k.startswith("metrics_") and record[k] is not None)]:
        if not isinstance(record[key], dict):
            return f"has {key} {record[key]!r}, which is not an object of metric -> number"
        for name, value in record[key].items():
            if value is not None and not _is_number(value):  # null is how the store writes a metric with no value
                return f"has {key} '{name}' = {value!r}, which is not a finite number"
    return None


def read_record(path: str | Path) -> dict[str, Any]:
    """One record from a store file or a work dir's ``result.json``, refused when it cannot be shown."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LeaderboardError(f"Run record {path} does not exist; pass a run id from the results store or the "
                               f"path of a result.json.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LeaderboardError(f"{path} is not valid JSON ({exc}); delete it or restore it from the run's "
                               f"work dir (result.json).") from None
    except OSError as exc:
        raise LeaderboardError(f"Cannot read run record {path} ({exc.strerror or exc}); fix its permissions.") from None
    problem = _record_problem(record)
    if problem:
        raise LeaderboardError(f"{path} {problem}; fix it, or remove it from the results store (its run's work dir "
                               f"keeps a copy as result.json).")
    return RunRecord.from_dict(record).to_dict()  # a record of any version, with every required key


def _folders(dirs: str | Path | Iterable[str | Path] | None) -> list[Path]:
    return [store_dir(d) for d in ([dirs] if dirs is None or isinstance(dirs, (str, Path)) else dirs)]


def _record_files(folder: Path) -> list[Path]:
    """The record files of one store folder (none when it does not exist yet); a file or an unreadable folder is
    refused with one sentence."""
    try:
        return sorted(p for p in folder.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise LeaderboardError(_store_problem(folder, exc, "read")) from None


def load_records(dirs: str | Path | Iterable[str | Path] | None = None) -> list[dict[str, Any]]:
    """Every usable record in one or several store folders (missing folders hold none), oldest first.

    A file that is not a valid record is skipped with a warning naming it, so one bad file never hides the
    others; two records of one model (same work dir and predictions, see ``model_key``) count once, the newer
    kept, with a warning.
    """
    found: dict[str, tuple[dict[str, Any], Path]] = {}
    for folder in _folders(dirs):
        for path in _record_files(folder):
            try:
                record = read_record(path)
            except LeaderboardError as exc:
                log.warning("warning: skipped a results-store file: %s", exc)
                continue
            found.setdefault(record["run_id"], (record, path))
    ordered = sorted(found.values(), key=lambda rp: (str(rp[0]["created"]), rp[0]["run_id"]))
    newest: dict[object, tuple[dict[str, Any], Path]] = {}
    for record, path in ordered:
        key = model_key(record) or path  # a record that names no files is a model of its own
        if key in newest:
            log.warning("warning: %s and %s record the same model (work dir %s, predictions %s); the leaderboard "
                        "counts it once, from the newer record. Remove the older file to silence this.",
                        newest[key][1], path, record.get("work_dir"), record.get("predictions"))
        newest[key] = (record, path)
    kept = {id(record) for record, _ in newest.values()}
    return [record for record, _ in ordered if id(record) in kept]


def find_record(ref: str, dirs: str | Path | Iterable[str | Path] | None = None) -> dict[str, Any]:
    """The record named by ``ref``: a JSON file path, a work dir holding result.json, a run id or its unique prefix."""
    path = Path(ref)
    if path.is_file():
        return read_record(path)
    if (path / "result.json").is_file():
        return read_record(path / "result.json")
    if ref.endswith(".json") or "/" in ref or os.sep in ref:  # a path, not a run id: say which file is missing
        raise LeaderboardError(f"Run record {ref} does not exist (nor a work dir holding result.json); pass a run id "
                               f"from the results store or the path of a result.json.")
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
