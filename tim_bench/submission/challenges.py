"""What each supported challenge's submission holds: names, version, id column and score blocks."""
from __future__ import annotations

from dataclasses import dataclass

from tim_bench_registry import DataError


@dataclass(frozen=True)
class ScoreBlock:
    """One score dict of every result entry, e.g. ``verb``: 97 scores keyed "0".."96", from a predictions task."""

    key: str
    task: str
    num_classes: int

    @property
    def class_keys(self) -> tuple[str, ...]:
        """The JSON keys of the scores, class ids as decimal strings."""
        return tuple(str(c) for c in range(self.num_classes))


@dataclass(frozen=True)
class Challenge:
    """One challenge's submission format (shared/reference/epic_challenges.md section 1)."""

    name: str            # the CLI's --challenge value
    json_name: str       # the "challenge" field of test.json
    version: str
    id_column: str       # the id column of the labels and timestamps CSVs
    blocks: tuple[ScoreBlock, ...]
    has_t_mod: bool
    writer: str          # its WRITERS entry


EPIC100_ACTION = Challenge("epic-100-action", "action_recognition", "0.2", "narration_id",
                           (ScoreBlock("verb", "visual_verb", 97), ScoreBlock("noun", "visual_noun", 300)),
                           has_t_mod=False, writer="EPIC100ActionSubmission")
EPIC_SOUNDS = Challenge("epic-sounds", "audio_based_interaction_recognition", "0.1", "annotation_id",
                        (ScoreBlock("interaction", "audio_interaction", 44),), has_t_mod=True,
                        writer="EPICSoundsSubmission")
CHALLENGES: dict[str, Challenge] = {c.name: c for c in (EPIC100_ACTION, EPIC_SOUNDS)}


def challenge_from_json(json_name: object, source: str) -> Challenge:
    """The challenge whose test.json ``challenge`` field is ``json_name``."""
    for challenge in CHALLENGES.values():
        if challenge.json_name == json_name:
            return challenge
    known = ", ".join(f"'{c.json_name}'" for c in CHALLENGES.values())
    raise DataError(f"{source} is for challenge {json_name!r}, which tim-bench does not score; it reads {known}.")
