"""The EPIC challenges' submission format: what a test.json holds (names, version, id column, score blocks),
and the one check of its header that both `submit` (before writing) and `evaluate` (after reading) apply.

The engine sees an EPIC challenge only through the contract's ``Challenge`` Protocol (``name``, ``writer``,
``id_column``, ``has_t_mod``, ``scorer``, ``read``: ``challenges.EPICChallenge``); the format itself
(shared/reference/epic_challenges.md section 1) is this plugin's.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tim_bench_registry import CHALLENGES, ChallengeScorer, DataError, plugin_manager

SUBMISSION_MEMBER = "test.json"
SLS_FIELDS = ("sls_pt", "sls_tl", "sls_td")
SLS_LEVELS = range(6)
T_MODS = {0: "audio", 1: "video", 2: "audio-visual"}
_SHOWN_IDS = 5


def first_ids(ids: Sequence[object] | np.ndarray) -> str:
    """The first few ids, comma-separated, for error messages."""
    return ", ".join(str(i) for i in ids[:_SHOWN_IDS])


@dataclass(frozen=True)
class ScoreBlock:
    """One score dict of every result entry, e.g. ``verb``: C scores keyed "0".."C-1", from a predictions task."""

    key: str
    task: str
    num_classes: int

    @property
    def class_keys(self) -> tuple[str, ...]:
        """The JSON keys of the scores, class ids as decimal strings."""
        return tuple(str(c) for c in range(self.num_classes))


@dataclass(frozen=True)
class ChallengeFormat:
    """One EPIC challenge's submission format (shared/reference/epic_challenges.md section 1); a ``Challenge``."""

    name: str            # the CLI's --challenge value
    json_name: str       # the "challenge" field of test.json
    version: str
    id_column: str       # the id column of the labels and timestamps CSVs
    blocks: tuple[ScoreBlock, ...]
    has_t_mod: bool
    writer: str          # its WRITERS entry
    scorer: type[ChallengeScorer] | None = None  # how `tim-bench evaluate` scores it (None: it cannot)


def challenge_from_json(json_name: object, source: str) -> ChallengeFormat:
    """The challenge whose test.json ``challenge`` field is ``json_name``."""
    formats = _formats()
    for challenge in formats:
        if challenge.json_name == json_name:
            return challenge
    known = ", ".join(f"'{c.json_name}'" for c in formats) or "none (no challenge is installed)"
    raise DataError(f"{source} is for challenge {json_name!r}, which tim-bench does not score; it reads {known}.")


def _formats() -> list[ChallengeFormat]:
    """The registered challenges in this format (another plugin's challenges read their own files)."""
    plugin_manager()  # challenges register when their benchmark plugin loads
    return [c for c in CHALLENGES.module_dict.values() if isinstance(c, ChallengeFormat)]


def header_fields(challenge: ChallengeFormat) -> tuple[str, ...]:
    """The top-level keys of this challenge's test.json besides ``results``, in the official writer's order."""
    return ("version", "challenge", *SLS_FIELDS, *(("t_mod",) if challenge.has_t_mod else ()))


def _is_int(value: object) -> bool:
    """A JSON integer: ``int`` but not ``bool`` (``True`` is an int to Python, not to the challenge server)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_header(document: Mapping[str, Any], source: str) -> ChallengeFormat:
    """The challenge of a test.json object whose header is exactly what the official server expects.

    ``version`` and ``challenge`` must be the challenge's strings, ``sls_pt/sls_tl/sls_td`` integers 0..5,
    ``t_mod`` (challenges with ``has_t_mod`` only) 0, 1 or 2, and no other key may sit beside ``results``.
    """
    if "challenge" not in document:
        raise DataError(f"{source} has no 'challenge' field; a submission names its challenge "
                        f"({', '.join(repr(c.json_name) for c in _formats())}).")
    challenge = challenge_from_json(document["challenge"], source)
    wanted = header_fields(challenge)
    missing = [k for k in (*wanted, "results") if k not in document]
    if missing:
        raise DataError(f"{source} lacks {missing}; a {challenge.json_name} submission holds {list(wanted)} and "
                        f"'results'.")
    extra = [k for k in document if k not in (*wanted, "results")]
    if extra:
        raise DataError(f"{source} holds unknown top-level keys {extra}; a {challenge.json_name} submission holds "
                        f"only {list(wanted)} and 'results'.")
    if document["version"] != challenge.version or not isinstance(document["version"], str):
        raise DataError(f"{source} has version {document['version']!r}; a {challenge.json_name} submission is "
                        f"version \"{challenge.version}\" (a string).")
    for name in SLS_FIELDS:
        level = document[name]
        if not _is_int(level) or level not in SLS_LEVELS:
            raise DataError(f"{source} has {name} {level!r}; the Scale of Levels of Supervision is an integer from "
                            f"0 to 5.")
    if challenge.has_t_mod and (not _is_int(document["t_mod"]) or document["t_mod"] not in T_MODS):
        raise DataError(f"{source} has t_mod {document['t_mod']!r}; use the integer 0 (audio), 1 (video) or "
                        f"2 (audio-visual).")
    return challenge
