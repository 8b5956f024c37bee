"""Writing an EPIC challenge submission zip, checked before anything is written (the writers in ``writers``).

The zip holds one ``test.json``, written as the official EPIC ``create_submission.py`` does it:
``json.dumps`` with default separators, ZIP_DEFLATED at compresslevel 5.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tim_bench_registry import DataError, Predictions, TimBenchError, rows_in_order
from tim_bench_registry.files import write_atomic

from .submission_format import SUBMISSION_MEMBER, ChallengeFormat, check_header, first_ids
from .submission_reader import submission_arrays


def refuse_overwrite(out: str | Path, force: bool) -> None:
    """Raise unless ``out`` is new or ``force`` allows replacing it."""
    if Path(out).exists() and not force:
        raise TimBenchError(f"{out} already exists; pass --force (force=True) to overwrite it.")


def submission_header(challenge: ChallengeFormat, sls_pt: int = 2, sls_tl: int = 3, sls_td: int = 4,
                      t_mod: int = 0) -> dict[str, Any]:
    """The fields of test.json before ``results``, checked by the same ``check_header`` that `evaluate` applies."""
    header: dict[str, Any] = {"version": challenge.version, "challenge": challenge.json_name,
                              "sls_pt": sls_pt, "sls_tl": sls_tl, "sls_td": sls_td}
    if challenge.has_t_mod:
        header["t_mod"] = t_mod
    check_header({**header, "results": {}}, f"The {challenge.name} submission header")
    return header


def t_mod_of(predictions: Predictions, t_mod: int | None) -> int:
    """A challenge's training modality (``t_mod``): ``t_mod`` when given, else read off the predicted streams (audio and
    visual tasks: 2, audio-visual; audio only: 0). `submit` and a run's writer both use this, so they agree."""
    streams = {task.stream for task in predictions.tasks}
    derived = 2 if {"audio", "visual"} <= streams else 1 if streams == {"visual"} else 0
    if t_mod is None:
        return derived
    if t_mod == 0 and derived == 2:
        raise DataError(f"t_mod 0 says the model saw audio only, but these predictions hold visual tasks too "
                        f"({sorted(t.key for t in predictions.tasks)}); use t_mod 2 (audio-visual) or leave it out.")
    return t_mod


def submission_scores(challenge: ChallengeFormat, predictions: Predictions) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The segment ids and each score block's [N, C] scores in that order, with class counts and values checked."""
    first = predictions.task(challenge.blocks[0].task)
    ids = np.asarray(first.ids, dtype=str)
    duplicated = pd.Index(ids).duplicated()
    if duplicated.any():
        raise DataError(f"Segment ids repeat in the {challenge.blocks[0].task} predictions ({duplicated.sum()} "
                        f"repeats, first {first_ids(ids[duplicated])}); each segment needs one row.")
    scores = {}
    for block in challenge.blocks:
        task = predictions.task(block.task)
        block_scores = np.asarray(task.logits)[rows_in_order(ids, task, block.task, challenge.blocks[0].task)]
        if block_scores.ndim != 2 or block_scores.shape[1] != block.num_classes:
            raise DataError(f"{block.task} predictions have shape {block_scores.shape}; a {challenge.name} "
                            f"submission needs {block.num_classes} {block.key} scores per segment.")
        scores[block.key] = block_scores
    bad = ~np.logical_and.reduce([np.isfinite(s).all(axis=1) for s in scores.values()])
    if bad.any():
        raise DataError(f"{bad.sum()} segments have NaN or inf scores (first {first_ids(ids[bad])}); "
                        f"a submission needs finite scores, so fix the predictions first.")
    return ids, scores


def check_ids_match(ids: np.ndarray, timestamps: str | Path, id_column: str) -> None:
    """Refuse ids that differ from the test segments of the official timestamps CSV (missing or extra)."""
    try:
        expected = pd.read_csv(timestamps, usecols=[id_column], dtype=str)[id_column]
    except FileNotFoundError:
        raise DataError(f"Timestamps file {timestamps} does not exist; give the official test timestamps "
                        f"CSV.") from None
    except ValueError as exc:
        raise DataError(f"Timestamps file {timestamps} has no '{id_column}' column ({exc}); "
                        f"give the official test timestamps CSV of this challenge.") from exc
    have, want = pd.Index(ids), pd.Index(expected)
    missing = want[~want.isin(have)]
    if len(missing):
        raise DataError(f"The predictions lack {len(missing)} of the {len(want)} test segments listed in {timestamps} "
                        f"(first {first_ids(missing)}); predict every segment of the test split.")
    extra = have[~have.isin(want)]
    if len(extra):
        raise DataError(f"The predictions hold {len(extra)} segments that {timestamps} does not list (first "
                        f"{first_ids(extra)}); predict the test split, not another one.")


def build_submission(header: dict[str, Any], challenge: ChallengeFormat, ids: np.ndarray,
                     scores: dict[str, np.ndarray]) -> dict[str, Any]:
    """The test.json object: the header, then ``results`` id -> {block: {"0": score, ...}}."""
    rows = {block.key: np.asarray(scores[block.key], dtype=np.float64).tolist() for block in challenge.blocks}
    results = {str(seg): {block.key: dict(zip(block.class_keys, rows[block.key][i])) for block in challenge.blocks}
               for i, seg in enumerate(ids)}
    return {**header, "results": results}


def write_submission_zip(submission: dict[str, Any], out: str | Path, force: bool = False) -> Path:
    """Write ``submission`` as the single test.json of a zip, atomically; an existing ``out`` needs force."""
    refuse_overwrite(out, force)
    text = json.dumps(submission)

    def _write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=5) as archive:
            archive.writestr(SUBMISSION_MEMBER, text)
    return write_atomic(out, _write)


def write_submission(challenge: ChallengeFormat, header: dict[str, Any], predictions: Predictions, out: str | Path,
                     timestamps: str | Path | None = None, force: bool = False) -> Path:
    """Check ``predictions`` (and their ids against ``timestamps`` if given), then write the zip to ``out``."""
    refuse_overwrite(out, force)
    ids, scores = submission_scores(challenge, predictions)
    if timestamps is not None:
        check_ids_match(ids, timestamps, challenge.id_column)
    submission = build_submission(header, challenge, ids, scores)
    submission_arrays(submission, str(out))  # the very checks `tim-bench evaluate` applies to what it reads
    return write_submission_zip(submission, out, force)
