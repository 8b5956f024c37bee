"""Read a challenge submission (test.json or the zip holding it) into score arrays, mapping every score by its key."""
from __future__ import annotations

import json
import zipfile
from operator import itemgetter
from pathlib import Path

import numpy as np

from tim_bench_registry import DataError

from .challenges import Challenge, challenge_from_json
from .epic import SUBMISSION_MEMBER, first_ids


def _read_text(path: Path) -> str:
    """The test.json text of ``path``, a zip or the JSON file itself."""
    try:
        if not zipfile.is_zipfile(path):
            return path.read_text(encoding="utf-8")
        with zipfile.ZipFile(path) as archive:
            if SUBMISSION_MEMBER not in archive.namelist():
                raise DataError(f"{path} holds {archive.namelist()} but no {SUBMISSION_MEMBER}; a submission zip "
                                f"holds a single {SUBMISSION_MEMBER}.")
            return archive.read(SUBMISSION_MEMBER).decode("utf-8")
    except FileNotFoundError:
        raise DataError(f"Submission file {path} does not exist.") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 JSON text ({exc}); give a test.json or the zip holding it.") from exc


def read_submission(path: str | Path) -> tuple[Challenge, dict[str, np.ndarray]]:
    """The challenge and ``{"ids": [N] str, block: [N, C] float64 ...}`` of a submission.

    Segments keep the file's order; within a segment, score ``"c"`` goes to column c whatever the
    key order (JSON objects have none). Missing or extra class keys and non-finite scores are refused.
    """
    path = Path(path)
    try:
        document = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc}); give a test.json or the zip holding it.") from exc
    if not isinstance(document, dict) or not isinstance(document.get("results"), dict):
        raise DataError(f"{path} has no 'results' object; it is not a challenge submission.")
    challenge = challenge_from_json(document.get("challenge"), str(path))
    results = document["results"]
    ids = np.asarray(list(results), dtype=str)
    arrays: dict[str, np.ndarray] = {"ids": ids}
    for block in challenge.blocks:
        in_class_order = itemgetter(*block.class_keys)
        rows = []
        for segment, entry in results.items():
            try:
                scores = entry[block.key]
                if len(scores) != block.num_classes:
                    raise KeyError(block.key)
                rows.append(in_class_order(scores))
            except (KeyError, TypeError):
                raise DataError(f"{path}: segment {segment} needs '{block.key}' with exactly {block.num_classes} "
                                f"scores keyed \"0\"..\"{block.num_classes - 1}\".") from None
        values = np.asarray(rows)
        if values.dtype.kind not in "fiu":
            raise DataError(f"{path}: some '{block.key}' scores are not numbers; write every score as a JSON number.")
        values = values.astype(np.float64).reshape(len(ids), block.num_classes)
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            raise DataError(f"{path}: {bad.sum()} segments have NaN or infinite '{block.key}' scores "
                            f"(first {first_ids(ids[bad])}); every score must be finite.")
        arrays[block.key] = values
    return challenge, arrays
