"""The EPIC-KITCHENS-100 action and EPIC-Sounds challenges: their submission formats and how `evaluate` scores them.

Formats: shared/reference/epic_challenges.md section 1. Scoring reads the official labels CSV (or a
trusted pickle) and, for EPIC-100, the tail-class and unseen-participant files beside it.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from tim_bench_registry import CHALLENGES, DataError

from .epic_kitchens import NUM_NOUNS, NUM_VERBS
from .epic_sounds import NUM_CLASSES as NUM_SOUNDS
from .official import BACKGROUND_CLASS, epic100_metrics, epic_sounds_metrics
from .submission_format import ChallengeFormat, ScoreBlock, first_ids
from .submission_reader import read_submission

TAIL_VERBS, TAIL_NOUNS = "EPIC_100_tail_verbs.csv", "EPIC_100_tail_nouns.csv"


def load_labels(path: Path, id_column: str, columns: tuple[str, ...], name: str, trust_pickle: bool) -> pd.DataFrame:
    """The labels table indexed by segment id; a pickle is read only with ``trust_pickle``."""
    if not path.is_file():
        raise DataError(f"Labels file {path} does not exist; give the official labels CSV.")
    if path.suffix == ".pkl":
        if not trust_pickle:
            raise DataError(f"Labels file {path} is a pickle, and loading a pickle can run code; pass --trust-pickle "
                            f"if you trust it, or give the CSV.")
        frame = pd.read_pickle(path)
        if id_column not in frame.columns and frame.index.name == id_column:
            frame = frame.reset_index()
    else:
        frame = pd.read_csv(path, dtype={id_column: str, "participant_id": str})
    missing = [c for c in (id_column, *columns) if c not in frame.columns]
    if missing:
        raise DataError(f"Labels file {path} lacks columns {missing}; give the official {name} labels.")
    frame = frame.astype({id_column: str}).set_index(id_column)
    repeated = frame.index.duplicated()
    if repeated.any():
        raise DataError(f"Labels file {path} lists {repeated.sum()} ids twice (first "
                        f"{first_ids(frame.index[repeated])}); each segment needs one row.")
    return frame


def _subset_file(given: Path | None, labels: Path, default_name: str, option: str) -> Path | None:
    """The explicit file, else the official one beside the labels; None (with a note) if neither exists."""
    if given is not None:
        if not given.is_file():
            raise DataError(f"{option} file {given} does not exist.")
        return given
    default = labels.parent / default_name
    if default.is_file():
        return default
    print(f"note: {default_name} is not beside {labels}, so its metrics are left out; pass {option}.", file=sys.stderr)
    return None


def _column(path: Path | None, column: str) -> list | None:
    if path is None:
        return None
    frame = pd.read_csv(path, dtype={"participant_id": str})
    if column not in frame.columns:
        raise DataError(f"{path} has no '{column}' column; give the official file.")
    return frame[column].tolist()


class EPIC100Scorer:
    """Scores an EPIC-100 action submission with the official metrics, tail and unseen subsets included."""

    label_columns = ("participant_id", "verb_class", "noun_class")

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
        parser.add_argument("--tail-verbs", type=Path, help=f"tail verb classes (default: {TAIL_VERBS} beside --labels)")
        parser.add_argument("--tail-nouns", type=Path, help=f"tail noun classes (default: {TAIL_NOUNS} beside --labels)")
        parser.add_argument("--unseen-participants", type=Path,
                            help="unseen participant ids (default: EPIC_100_unseen_participant_ids_validation.csv "
                                 "beside --labels, or _test.csv when the labels file name contains 'test')")

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    def labels(self, id_column: str, name: str) -> pd.DataFrame:
        """The --labels table indexed by ``id_column``."""
        return load_labels(self.args.labels, id_column, self.label_columns, name, self.args.trust_pickle)

    def required(self, labels: pd.DataFrame) -> pd.Index:
        """Every labelled segment must be in the submission."""
        return labels.index

    def __call__(self, scores: Mapping[str, np.ndarray], rows: pd.DataFrame) -> dict[str, float]:
        args = self.args
        unseen_name = "EPIC_100_unseen_participant_ids_" + ("test" if "test" in args.labels.name else "validation") + \
            ".csv"
        unseen_file = _subset_file(args.unseen_participants, args.labels, unseen_name, "--unseen-participants")
        unseen = _column(unseen_file, "participant_id")
        metrics = epic100_metrics(
            scores["verb"], scores["noun"], rows["verb_class"].to_numpy(), rows["noun_class"].to_numpy(),
            participant_ids=rows["participant_id"].astype(str).tolist(),
            tail_verbs=_column(_subset_file(args.tail_verbs, args.labels, TAIL_VERBS, "--tail-verbs"), "verb"),
            tail_nouns=_column(_subset_file(args.tail_nouns, args.labels, TAIL_NOUNS, "--tail-nouns"), "noun"),
            unseen_participants=unseen)
        if unseen is not None and "unseen_verb_accuracy_at_1" not in metrics:
            print(f"warning: no evaluated segment belongs to the participants of {unseen_file}, so the unseen metrics "
                  f"are left out; validation uses the _validation file.", file=sys.stderr)
        return metrics


class EPICSoundsScorer:
    """Scores an EPIC-Sounds submission with the official metrics, optionally without background segments."""

    label_columns = ("class_id",)

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
        parser.add_argument("--exclude-background", action="store_true",
                            help=f"drop segments labelled background ({BACKGROUND_CLASS}) before scoring")

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    def labels(self, id_column: str, name: str) -> pd.DataFrame:
        """The --labels table indexed by ``id_column``."""
        return load_labels(self.args.labels, id_column, self.label_columns, name, self.args.trust_pickle)

    def required(self, labels: pd.DataFrame) -> pd.Index:
        """Background segments are dropped before scoring with --exclude-background, so they need not be there."""
        if self.args.exclude_background:
            return labels.index[labels["class_id"].to_numpy() != BACKGROUND_CLASS]
        return labels.index

    def __call__(self, scores: Mapping[str, np.ndarray], rows: pd.DataFrame) -> dict[str, float]:
        return epic_sounds_metrics(scores["interaction"], rows["class_id"].to_numpy(), self.args.exclude_background)


class EPICChallenge(ChallengeFormat):
    """An EPIC challenge as the contract's ``Challenge``: its format, and ``read`` for `tim-bench evaluate`."""

    def read(self, path: Path, max_mib: int | None = None) -> dict[str, np.ndarray]:
        """``{"ids": [N] str, block key: [N, C] scores}`` of a submission of this challenge (zip or test.json),
        refused as the challenge server would refuse it (``submission_reader``)."""
        found, scores = read_submission(path, max_mib)
        if found is not self:
            raise DataError(f"{path} is a {found.name} submission, but --challenge is {self.name}.")
        return scores


EPIC100_ACTION = EPICChallenge("epic-100-action", "action_recognition", "0.2", "narration_id",
                           (ScoreBlock("verb", "visual_verb", NUM_VERBS), ScoreBlock("noun", "visual_noun", NUM_NOUNS)),
                           has_t_mod=False, writer="EPIC100ActionSubmission", scorer=EPIC100Scorer)
EPIC_SOUNDS = EPICChallenge("epic-sounds", "audio_based_interaction_recognition", "0.1", "annotation_id",
                        (ScoreBlock("interaction", "audio_interaction", NUM_SOUNDS),), has_t_mod=True,
                        writer="EPICSoundsSubmission", scorer=EPICSoundsScorer)
for _challenge in (EPIC100_ACTION, EPIC_SOUNDS):
    CHALLENGES.register(_challenge.name, _challenge)
