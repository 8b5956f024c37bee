"""Read a challenge submission (test.json or the zip holding it) into score arrays, refusing anything the
official server would reject: another container layout, an oversized (bomb) member, repeated JSON keys, a
wrong header, missing or extra score keys, and scores that are not finite numbers."""
from __future__ import annotations

import json
import os
import zipfile
import zlib
from collections import Counter
from collections.abc import Mapping
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from tim_bench_registry import DataError

from .submission_format import SUBMISSION_MEMBER, ChallengeFormat, ScoreBlock, check_header, first_ids

#: Environment variable that raises (or lowers) the cap on a submission's JSON size, in MiB.
MAX_SIZE_ENV = "TIM_BENCH_MAX_SUBMISSION_MIB"
#: 2 GiB: ten times the largest real submission known (~100-200 MB of JSON).
DEFAULT_MAX_MIB = 2048


def max_submission_bytes(mib: int | None = None) -> int:
    """The cap on a submission's JSON size: ``mib`` when given, else ``$TIM_BENCH_MAX_SUBMISSION_MIB``, else 2 GiB."""
    if mib is None:
        raw = os.environ.get(MAX_SIZE_ENV)
        if raw is None:
            mib = DEFAULT_MAX_MIB
        else:
            try:
                mib = int(raw)
            except ValueError:
                raise DataError(f"{MAX_SIZE_ENV}={raw!r} is not a whole number of MiB; set e.g. "
                                f"{MAX_SIZE_ENV}=4096 or unset it for the {DEFAULT_MAX_MIB} MiB default.") from None
    if mib < 1:
        raise DataError(f"The submission size cap (--max-json-mib or {MAX_SIZE_ENV}) is {mib} MiB; it must be at "
                        f"least 1 MiB.")
    return mib * 2**20


def _too_big(path: Path, what: str, size: int | str, cap: int) -> DataError:
    return DataError(f"{path}: {what} is {size} bytes, above the {cap // 2**20} MiB cap on a submission (real ones "
                     f"are a few hundred MB at most); it was not read. If it is genuine, raise the cap with "
                     f"--max-json-mib or {MAX_SIZE_ENV}.")


def _read_member(path: Path, archive: zipfile.ZipFile, cap: int) -> bytes:
    """The bytes of the zip's single test.json, refused before reading when its header declares more than
    ``cap`` and while reading when it inflates past ``cap`` (headers can lie)."""
    infos = archive.infolist()
    names = [i.filename for i in infos]
    if names != [SUBMISSION_MEMBER]:
        raise DataError(f"{path} holds {names}; a submission zip holds exactly one member, {SUBMISSION_MEMBER}, at "
                        f"its top level (zip that file alone).")
    info = infos[0]
    if info.flag_bits & 0x1:
        raise DataError(f"{path}: {SUBMISSION_MEMBER} is encrypted; the challenge server reads plain zips.")
    if info.file_size > cap:
        raise _too_big(path, f"{SUBMISSION_MEMBER} declares that it", info.file_size, cap)
    with archive.open(info) as member:
        data = member.read(cap + 1)
    if len(data) > cap:
        raise _too_big(path, f"{SUBMISSION_MEMBER} inflates past the cap: it", f"more than {cap}", cap)
    return data


def read_submission_text(path: str | Path, max_mib: int | None = None) -> str:
    """The test.json text of ``path`` (a zip holding only test.json, or the JSON file itself), size-capped."""
    path = Path(path)
    cap = max_submission_bytes(max_mib)
    if path.is_dir():
        raise DataError(f"Submission {path} is a folder; give the submission zip or its test.json.")
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                data = _read_member(path, archive, cap)
        else:
            size = path.stat().st_size
            if size > cap:
                raise _too_big(path, "the file", size, cap)
            data = path.read_bytes()
        return data.decode("utf-8")
    except FileNotFoundError:
        raise DataError(f"Submission file {path} does not exist.") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise DataError(f"{path} is a damaged or unsupported zip ({exc}); write it again with `tim-bench submit` "
                        f"or zip test.json with deflate.") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 JSON text ({exc}); give a test.json or the zip holding it.") from None


class _Repeated(dict):
    """A JSON object in which some keys appeared more than once (``json`` alone would silently keep the last)."""

    repeated: list[str]


def _keep_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook``: a plain dict, or a ``_Repeated`` one that remembers which keys came twice."""
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    marked = _Repeated(obj)
    marked.repeated = [key for key, count in Counter(k for k, _ in pairs).items() if count > 1]
    return marked


def parse_submission_json(text: str, source: str) -> Any:
    """``json.loads`` that keeps track of repeated keys instead of silently keeping the last value."""
    try:
        return json.loads(text, object_pairs_hook=_keep_repeats)
    except json.JSONDecodeError as exc:
        raise DataError(f"{source} is not valid JSON ({exc}); give a test.json or the zip holding it.") from None
    except RecursionError:
        raise DataError(f"{source} nests JSON too deeply to be a submission.") from None


def _refuse_repeats(obj: Mapping[str, Any], source: str, where: str) -> None:
    if isinstance(obj, _Repeated):
        raise DataError(f"{source}: {where} repeats the keys {first_ids(obj.repeated)}; JSON readers keep only one "
                        f"of them, so write each key once.")


def _json_kind(value: Any) -> str:
    """What a JSON value is, in the words of a user who wrote it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {json.dumps(value)}"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    return f"an object of {len(value)} keys"


def _block_scores(block: ScoreBlock, results: Mapping[str, Any], ids: np.ndarray, source: str) -> np.ndarray:
    """The [N, C] float64 scores of one block, each mapped by its class key, every value a finite JSON number."""
    in_class_order = itemgetter(*block.class_keys)
    rows = []
    for segment, entry in results.items():
        scores = entry[block.key]
        _refuse_repeats(scores, source, f"segment {segment}'s '{block.key}' scores")
        if not isinstance(scores, Mapping) or len(scores) != block.num_classes:
            raise DataError(f"{source}: segment {segment} has {_json_kind(scores)} under '{block.key}'; it needs "
                            f"exactly {block.num_classes} scores keyed \"0\"..\"{block.num_classes - 1}\".")
        try:
            rows.append(in_class_order(scores))
        except KeyError as exc:
            raise DataError(f"{source}: segment {segment}'s '{block.key}' scores lack class key {exc}; they must be "
                            f"keyed \"0\"..\"{block.num_classes - 1}\".") from None
    kinds = set(map(type, chain.from_iterable(rows)))
    if not kinds <= {float, int}:
        row = next(i for i, r in enumerate(rows) if not {type(v) for v in r} <= {float, int})
        column = next(c for c, v in enumerate(rows[row]) if type(v) not in (float, int))
        raise DataError(f"{source}: segment {ids[row]}'s '{block.key}' score \"{column}\" is {rows[row][column]!r}, "
                        f"not a number; write every score as a JSON number (true/false and strings are refused).")
    try:
        values = np.array(rows, dtype=np.float64).reshape(len(ids), block.num_classes)
    except OverflowError:
        raise DataError(f"{source}: some '{block.key}' scores are integers too large for a float; write finite "
                        f"scores.") from None
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise DataError(f"{source}: {bad.sum()} segments have NaN or infinite '{block.key}' scores "
                        f"(first {first_ids(ids[bad])}); every score must be finite.")
    return values


def submission_arrays(document: Any, source: str) -> tuple[ChallengeFormat, dict[str, np.ndarray]]:
    """The challenge and ``{"ids": [N] str, block: [N, C] float64 ...}`` of a parsed test.json object.

    The one validator of a submission's content, shared by `submit` (before writing) and `evaluate`.
    Segments keep the document's order; within a segment, score ``"c"`` goes to column c whatever the
    key order (JSON objects have none).
    """
    if not isinstance(document, Mapping):
        raise DataError(f"{source} holds a JSON {type(document).__name__}, not an object; it is not a challenge "
                        f"submission.")
    _refuse_repeats(document, source, "the top-level object")
    challenge = check_header(document, source)
    results = document["results"]
    if not isinstance(results, Mapping):
        raise DataError(f"{source}: 'results' is {_json_kind(results)}, not an object of segment id -> scores.")
    if isinstance(results, _Repeated):
        raise DataError(f"{source}: 'results' lists segment ids more than once ({len(results.repeated)} repeats, "
                        f"first {first_ids(results.repeated)}); each segment needs one entry.")
    if not results:
        raise DataError(f"{source}: 'results' is empty; a submission scores the segments of the split.")
    keys = {b.key for b in challenge.blocks}
    for segment, entry in results.items():
        if not isinstance(entry, Mapping) or set(entry) != keys:
            found = sorted(entry) if isinstance(entry, Mapping) else _json_kind(entry)
            raise DataError(f"{source}: segment {segment} holds {found}; a {challenge.json_name} entry holds exactly "
                            f"{sorted(keys)}.")
        _refuse_repeats(entry, source, f"segment {segment}")
    ids = np.asarray(list(results), dtype=str)
    arrays: dict[str, np.ndarray] = {"ids": ids}
    for block in challenge.blocks:
        arrays[block.key] = _block_scores(block, results, ids, source)
    return challenge, arrays


def read_submission(path: str | Path, max_mib: int | None = None) -> tuple[ChallengeFormat, dict[str, np.ndarray]]:
    """Read and validate the submission at ``path`` (see ``submission_arrays``); ``max_mib`` caps its JSON size."""
    text = read_submission_text(path, max_mib)
    return submission_arrays(parse_submission_json(text, str(path)), str(path))
