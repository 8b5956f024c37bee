"""Chance levels of a split: what predicting its most frequent class(es), or guessing uniformly, would score.

A run records its scored split's class counts per task (``label_counts``); a benchmark's ``LeaderboardSpec.chance``
says which task and which kind of accuracy each metric is, and this module turns the counts into the levels::

    counts = label_counts(predictions)          # {"visual_event": [12, 0, 30, ...], ...}
    chance_level(counts["visual_event"], Chance("visual_event", k=1), "majority")
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


def chance_level(counts: Sequence[int], chance: Chance, kind: str) -> float | None:
    """The metric's level, in %, for the ``majority`` predictor (always the k most frequent classes of the split)
    or ``uniform`` guessing (expected value); None when the split has no labelled segment of the task."""
    counts = np.asarray(counts, dtype=np.int64)
    total, classes, present = int(counts.sum()), len(counts), int((counts > 0).sum())
    if total == 0 or classes == 0:
        return None
    k = min(chance.k, classes)
    if kind == "uniform":  # each class is among the k guesses with probability k / C, whatever the counts
        return 100.0 * k / classes
    if chance.per_class:  # the k majority classes are recalled fully, the other present classes not at all
        return 100.0 * min(k, present) / present
    return 100.0 * float(np.sort(counts)[::-1][:k].sum()) / total
