"""Top-k accuracy and mean class accuracy over aggregated logits, with one documented tie rule (for metric plugins).

Ties: a class ranks above another with an equal score when its id is lower (stable sort).
"""
from __future__ import annotations

import numpy as np


def rank_classes(scores: np.ndarray, k: int) -> np.ndarray:
    """[N, k] class ids, best first; equal scores keep the lower class id first."""
    order = np.argsort(-scores, axis=1, kind="stable")
    return order[:, :k]


def topk_correct(scores: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """[N] bool: the label is among the k best-scored classes."""
    k = min(k, scores.shape[1])
    return (rank_classes(scores, k) == labels[:, None]).any(axis=1)


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Percentage of rows whose label is among the k best classes (NaN for no rows)."""
    return float(100.0 * topk_correct(scores, labels, k).mean()) if len(labels) else float("nan")


def mean_class_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Unweighted mean over classes present in ``labels`` of per-class recall of the argmax (percent)."""
    if not len(labels):
        return float("nan")
    pred = scores.argmax(axis=1)
    classes = np.unique(labels)
    return float(100.0 * np.mean([(pred[labels == c] == c).mean() for c in classes]))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64."""
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
