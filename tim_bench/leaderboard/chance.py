"""Chance levels of a split: what predicting its most frequent class(es), or guessing uniformly, would score.

A run records its scored split's class counts per task (``label_counts``); a benchmark's ``LeaderboardSpec.chance``
says which task and which kind of accuracy each metric is, and this module turns the counts into the levels::

    counts = label_counts(predictions)          # {"visual_event": [12, 0, 30, ...], ...}
    chance_level(counts["visual_event"], Chance("visual_event", k=1), "majority")

A metric that scores a task's unlabelled segments as wrong (``Chance.unlabelled_scored``, e.g. EPIC's action@1
over every segment while only pairs of the action vocabulary carry an action label) divides by all the task's
segments (``task_segments``), so its chance level has the metric's own denominator.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tim_bench_registry import Chance, Predictions

#: the two chance rows every table carries, in order: (kind, row label)
KINDS = (("majority", "majority class"), ("uniform", "uniform chance"))


def label_counts(predictions: Predictions) -> dict[str, list[int]]:
    """Per task, the number of labelled segments of each class (unlabelled ``-1`` segments left out)."""
    out = {}
    for key, task in predictions.by_task.items():
        labels = np.asarray(task.labels)
        out[key] = np.bincount(labels[labels >= 0], minlength=int(task.logits.shape[1])).astype(int).tolist()
    return out


def task_segments(predictions: Predictions) -> dict[str, int]:
    """Per task, every segment of the predictions, labelled or not (the denominator of a metric that scores
    unlabelled segments as wrong)."""
    return {key: int(len(task.labels)) for key, task in predictions.by_task.items()}


def scored_count(counts: Sequence[int], chance: Chance, segments: int | None) -> int | None:
    """How many segments the metric divides by: all the task's (``segments``) when it scores unlabelled ones
    too, else the labelled ones; None when that is unknown (a record from before ``task_segments``)."""
    return (None if segments is None else int(segments)) if chance.unlabelled_scored else int(np.sum(counts))


def chance_level(counts: Sequence[int], chance: Chance, kind: str, segments: int | None = None) -> float | None:
    """The metric's level, in %, for the ``majority`` predictor (always the k most frequent classes of the split)
    or ``uniform`` guessing (expected value), over the segments the metric scores (``scored_count``); None when
    the split has no labelled segment of the task or the denominator is unknown."""
    counts = np.asarray(counts, dtype=np.int64)
    labelled, classes, present = int(counts.sum()), len(counts), int((counts > 0).sum())
    total = scored_count(counts, chance, segments)
    if labelled == 0 or classes == 0 or not total:
        return None
    k = min(chance.k, classes)
    if kind == "uniform":  # each class is among the k guesses with probability k / C; unlabelled ones never right
        return 100.0 * k / classes * labelled / total
    if chance.per_class:  # the k majority classes are recalled fully, the other present classes not at all
        return 100.0 * min(k, present) / present
    return 100.0 * float(np.sort(counts)[::-1][:k].sum()) / total
