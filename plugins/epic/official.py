"""The official EPIC-KITCHENS-100 action-recognition and EPIC-Sounds metrics, in numpy and sklearn.

They equal the published evaluators (epic-kitchens/C1-Action-Recognition c90b6f9 and
epic-kitchens/C9-epic-sounds 2ac9d65; spec: shared/reference/epic_challenges.md) on the same
scores. The official ranking is an unstable quicksort with no tie rule, so this module uses one:

    Equal scores rank the lower class id first: verbs and nouns by class id, actions by action
    id (verb * 1000 + noun: the lower verb, then the lower noun).

EPIC-Sounds mCA keeps the official ``argmax``, whose ties also go to the lowest class id. The
official global softmax of the action scores is reproduced literally (see ``global_softmax``).
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tim_bench_registry import DataError
from tim_bench_registry.scores import rank_classes

#: The official action ranking keeps this many verbs, nouns and (verb, noun) pairs.
ACTION_CANDIDATES = 100
BACKGROUND_CLASS = 13
EPIC100_TOPK = (1, 5)
SOUNDS_TOPK = (1, 5)
#: Rows of the (verb x noun) pair matrix built at once: 256 x 97 x 100 float64 is 20 MB.
_PAIR_CHUNK = 256


def action_ids(verbs: np.ndarray, nouns: np.ndarray) -> np.ndarray:
    """The official action id ``verb * 1000 + noun``."""
    return np.asarray(verbs, dtype=np.int64) * 1000 + np.asarray(nouns, dtype=np.int64)


def global_softmax(x: np.ndarray) -> np.ndarray:
    """``scipy.special.softmax(x)`` with no axis, as the official code calls it: one normaliser for the whole matrix.

    A positive constant divides every entry, so the order within a row is that of a per-row
    softmax, and the order of ``p_verb * p_noun`` is that of ``verb_score + noun_score``.
    Computed literally so that the products equal the official ones, underflow ties included.
    """
    shifted = np.exp(x - np.amax(x))
    return shifted / np.sum(shifted)


def _top_k_lowest_index_first(values: np.ndarray, k: int) -> np.ndarray:
    """[N, k] column indices of the k largest values per row, best first, equal values by lower index."""
    n_cols = values.shape[1]
    columns = np.argpartition(values, n_cols - k, axis=1)[:, n_cols - k:]
    chosen_values = np.take_along_axis(values, columns, axis=1)
    kth = chosen_values.min(axis=1, keepdims=True)
    # argpartition splits a tie at the k-th value arbitrarily: those rows take the lowest-index ties
    split = (values == kth).sum(axis=1) > (chosen_values == kth).sum(axis=1)
    if split.any():
        tied_rows, kth_split = values[split], kth[split]
        above, tied = tied_rows > kth_split, tied_rows == kth_split
        room = k - above.sum(axis=1, keepdims=True)
        chosen = above | (tied & (np.cumsum(tied, axis=1) <= room))
        columns[split] = np.nonzero(chosen)[1].reshape(len(tied_rows), k)
    columns.sort(axis=1)
    order = np.argsort(-np.take_along_axis(values, columns, axis=1), axis=1, kind="stable")
    return np.take_along_axis(columns, order, axis=1)


def _rank_pairs(verb_scores: np.ndarray, noun_scores: np.ndarray, top_verbs: np.ndarray, top_nouns: np.ndarray,
                k: int) -> np.ndarray:
    """[N, k] action ids from float64 scores and their top-100 verb and noun ids (ranked, best first).

    The candidates are put in class-id order, so a pair's flat index grows with its action id and
    "lower index first" among equal products is "lower action id first".
    """
    rows = np.arange(len(verb_scores))[:, None]
    p_verb = global_softmax(verb_scores[rows, top_verbs])
    p_noun = global_softmax(noun_scores[rows, top_nouns])
    verb_order, noun_order = np.argsort(top_verbs, axis=1), np.argsort(top_nouns, axis=1)
    verbs, p_verb = np.take_along_axis(top_verbs, verb_order, 1), np.take_along_axis(p_verb, verb_order, 1)
    nouns, p_noun = np.take_along_axis(top_nouns, noun_order, 1), np.take_along_axis(p_noun, noun_order, 1)
    n_nouns = nouns.shape[1]
    k = min(k, verbs.shape[1] * n_nouns)
    ranked = np.empty((len(verb_scores), k), dtype=np.int64)
    for start in range(0, len(verb_scores), _PAIR_CHUNK):
        part = slice(start, start + _PAIR_CHUNK)
        pairs = (p_verb[part, :, None] * p_noun[part, None, :]).reshape(len(verbs[part]), -1)
        best = _top_k_lowest_index_first(pairs, k)
        r = rows[: len(best)]
        ranked[part] = action_ids(verbs[part][r, best // n_nouns], nouns[part][r, best % n_nouns])
    return ranked


def rank_actions(verb_scores: np.ndarray, noun_scores: np.ndarray, k: int = ACTION_CANDIDATES) -> np.ndarray:
    """[N, k] action ids ranked as the official evaluator does, best first.

    The top-100 verbs and nouns of each row (all 97 verbs) get a global softmax, every pair of
    them scores ``p_verb * p_noun`` and the k best pairs are kept; ties go to the lower action id.
    """
    verb_scores = np.asarray(verb_scores, dtype=np.float64)
    noun_scores = np.asarray(noun_scores, dtype=np.float64)
    return _rank_pairs(verb_scores, noun_scores, rank_classes(verb_scores, ACTION_CANDIDATES),
                       rank_classes(noun_scores, ACTION_CANDIDATES), k)


def _check_scores(name: str, scores: np.ndarray, labels: np.ndarray) -> None:
    if scores.ndim != 2 or len(scores) != len(labels):
        raise DataError(f"{name} scores have shape {scores.shape} for {len(labels)} labels; "
                        f"give one row of class scores per labelled segment.")
    bad = (labels < 0) | (labels >= scores.shape[1])
    if bad.any():
        raise DataError(f"{name} label {labels[bad][0]} (row {np.flatnonzero(bad)[0]}) is outside "
                        f"0..{scores.shape[1] - 1}; {bad.sum()} rows are affected; fix the labels or the class count.")
    finite = np.isfinite(scores).all(axis=1)
    if not finite.all():
        raise DataError(f"{name} scores hold NaN or inf in {(~finite).sum()} rows (first row "
                        f"{np.flatnonzero(~finite)[0]}); the metrics need finite scores.")


def _percent(correct: np.ndarray) -> float:
    return float(100.0 * correct.mean())


def epic100_subsets(verb_labels: np.ndarray, noun_labels: np.ndarray, participant_ids: Iterable[str] | None = None,
                    tail_verbs: Iterable[int] | None = None, tail_nouns: Iterable[int] | None = None,
                    unseen_participants: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Boolean masks of the official subsets: ``all``, ``tail_verb``, ``tail_noun``, ``tail_action``, ``unseen``.

    Tail action is tail verb OR tail noun. A subset whose inputs are not given is left out.
    """
    verb_labels, noun_labels = np.asarray(verb_labels), np.asarray(noun_labels)
    masks = {"all": np.ones(len(verb_labels), dtype=bool)}
    if tail_verbs is not None:
        masks["tail_verb"] = np.isin(verb_labels, np.asarray(list(tail_verbs), dtype=np.int64))
    if tail_nouns is not None:
        masks["tail_noun"] = np.isin(noun_labels, np.asarray(list(tail_nouns), dtype=np.int64))
    if tail_verbs is not None and tail_nouns is not None:
        masks["tail_action"] = masks["tail_verb"] | masks["tail_noun"]
    if unseen_participants is not None:
        if participant_ids is None:
            raise DataError("Unseen-participant metrics need the participant id of every segment; "
                            "give participant_ids.")
        participants = np.asarray(list(participant_ids), dtype=str)
        masks["unseen"] = np.isin(participants, np.asarray(list(unseen_participants), dtype=str))
    return masks


def epic100_metrics(verb_scores: np.ndarray, noun_scores: np.ndarray, verb_labels: np.ndarray,
                    noun_labels: np.ndarray, participant_ids: Iterable[str] | None = None,
                    tail_verbs: Iterable[int] | None = None, tail_nouns: Iterable[int] | None = None,
                    unseen_participants: Iterable[str] | None = None) -> dict[str, float]:
    """The official EPIC-100 action-recognition metrics in percent, under their official names.

    ``all_{verb,noun,action}_accuracy_at_{1,5}``, then top-1 of the tail and unseen subsets
    (``tail_verb_accuracy_at_1``, ...). A subset that is not given or holds no segment is left
    out, as the official code leaves out an unseen subset that matches nothing.
    """
    verb_scores, noun_scores = np.asarray(verb_scores), np.asarray(noun_scores)
    verb_labels = np.asarray(verb_labels, dtype=np.int64)
    noun_labels = np.asarray(noun_labels, dtype=np.int64)
    _check_scores("Verb", verb_scores, verb_labels)
    _check_scores("Noun", noun_scores, noun_labels)
    if not len(verb_labels):
        raise DataError("No segments to evaluate; the submission or predictions are empty.")
    if len(verb_scores) != len(noun_scores):
        raise DataError(f"{len(verb_scores)} verb rows but {len(noun_scores)} noun rows; give both for every segment.")
    verb_scores, noun_scores = verb_scores.astype(np.float64), noun_scores.astype(np.float64)
    top_verbs = rank_classes(verb_scores, ACTION_CANDIDATES)
    top_nouns = rank_classes(noun_scores, ACTION_CANDIDATES)
    k_max = max(EPIC100_TOPK)
    ranks = {"verb": top_verbs[:, :k_max], "noun": top_nouns[:, :k_max],
             "action": _rank_pairs(verb_scores, noun_scores, top_verbs, top_nouns, k_max)}
    truth = {"verb": verb_labels, "noun": noun_labels, "action": action_ids(verb_labels, noun_labels)}
    hits = {(task, k): (ranks[task][:, :k] == truth[task][:, None]).any(axis=1)
            for task in ranks for k in EPIC100_TOPK}
    masks = epic100_subsets(verb_labels, noun_labels, participant_ids, tail_verbs, tail_nouns, unseen_participants)
    metrics = {f"all_{task}_accuracy_at_{k}": _percent(hits[task, k]) for task in ranks for k in EPIC100_TOPK}
    subset_masks = {("tail", task): masks.get(f"tail_{task}") for task in ranks}
    subset_masks.update({("unseen", task): masks.get("unseen") for task in ranks})
    for (subset, task), mask in subset_masks.items():
        if mask is not None and mask.any():
            metrics[f"{subset}_{task}_accuracy_at_1"] = _percent(hits[task, 1][mask])
    return metrics


def epic_sounds_metrics(scores: np.ndarray, labels: np.ndarray, exclude_background: bool = False) -> dict[str, float]:
    """The official EPIC-Sounds metrics: top-1/5, mCA, mAP (percent) and mAUC (a fraction).

    ``scores`` is [N, 44], or [N, views, 44], which is summed over views as the official script
    does. ``exclude_background`` drops every segment labelled background (13) first and keeps its
    score column. mCA, mAP and mAUC use float32 scores and only the classes present in the labels;
    mAUC also needs a negative, so a class that labels every segment is left out of it.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score  # slow to import; only needed here

    scores, labels = np.asarray(scores), np.asarray(labels, dtype=np.int64)
    if scores.ndim == 3:
        scores = scores.sum(axis=1)
    _check_scores("Interaction", scores, labels)
    if exclude_background:
        keep = labels != BACKGROUND_CLASS
        scores, labels = scores[keep], labels[keep]
    if not len(labels):
        raise DataError("No segments to evaluate (after removing background segments, if asked).")
    ranked = rank_classes(scores, max(SOUNDS_TOPK))
    metrics = {f"all_interaction_accuracy_at_{k}": _percent((ranked[:, :k] == labels[:, None]).any(axis=1))
               for k in SOUNDS_TOPK}
    scores32 = scores.astype(np.float32)
    predicted = scores32.argmax(axis=1)
    present = np.unique(labels)
    metrics["all_interaction_mCA"] = float(100.0 * np.mean([(predicted[labels == c] == c).mean() for c in present]))
    metrics["all_interaction_mAP"] = float(100.0 * np.mean(
        [average_precision_score(labels == c, scores32[:, c]) for c in present]))
    with_negatives = [c for c in present if (labels != c).any()]
    metrics["all_interaction_mAUC"] = float(np.mean([roc_auc_score(labels == c, scores32[:, c])
                                                     for c in with_negatives])) if with_negatives else float("nan")
    return metrics
