"""METRICS plugins for EPIC-KITCHENS-100 and EPIC-Sounds: the official challenge metrics and TIM's head accuracies."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from tim_bench_registry import METRICS, DataError, Predictions, SplitAnnotations, StreamBest, TaskPredictions, rows_in_order
from tim_bench_registry.scores import rank_classes

from .official import epic100_metrics, epic_sounds_metrics

#: The original's best checkpoints for EPIC-100 (model_best_visual: action head; model_best_mt_visual: verb
#: and noun heads) and EPIC-Sounds (model_best_audio), with the metrics reported from each.
EPIC100_BESTS = (StreamBest("visual", "tim_action_head_top1", ("*_verb_accuracy_at_*", "*_noun_accuracy_at_*",
                                                               "*_action_accuracy_at_*", "tim_action_head_*")),
                 StreamBest("visual_mt", "tim_verb_noun_top1", ("tim_verb_noun_*",)))
EPIC_SOUNDS_BESTS = (StreamBest("audio", "all_interaction_accuracy_at_1", ("all_interaction_*",)),)


def _labels(task: TaskPredictions, key: str) -> np.ndarray:
    """The task's labels; an unlabelled segment (-1) cannot be scored."""
    unlabelled = task.labels < 0
    if unlabelled.any():
        raise DataError(f"{unlabelled.sum()} {key} segments (first {task.ids[unlabelled][0]}) have no label; "
                        f"the metrics need a labelled split (write a submission for the test split instead).")
    return task.labels


def _participants(extra: Mapping[str, Any], ids: np.ndarray) -> np.ndarray | None:
    """Participant id of every segment, from ``extra['participant_id']``; None when no unseen list is given."""
    if extra.get("unseen_participants") is None:
        return None
    if "participant_id" not in extra:
        raise DataError("annotations.extra lists unseen_participants but has no 'participant_id' map; the EPIC "
                        "dataset plugin must map every narration_id to its participant.")
    found = pd.Series(extra["participant_id"]).reindex(ids)
    if found.isna().any():
        missing = np.asarray(ids)[found.isna().to_numpy()]
        raise DataError(f"annotations.extra['participant_id'] has no participant for {len(missing)} evaluated "
                        f"segments (first {missing[0]}); map every narration_id of the split.")
    return found.to_numpy(dtype=str)


@METRICS.register_module()
class EPIC100Metrics:
    """The 12 official EPIC-100 metrics (see ``epic_official``) and TIM's head accuracies, in percent.

    Reads from ``annotations.extra``, each key optional (a subset without its keys is left out):
    ``participant_id`` (dict or pandas Series, narration_id -> participant id; needed with
    ``unseen_participants``), ``tail_verbs`` and ``tail_nouns`` (class ids), ``unseen_participants``.
    Also reports ``tim_action_head_top1``/``top5`` (TIM's action head over its training (verb, noun)
    vocabulary; a segment whose action is outside it, label -1, counts as wrong) and
    ``tim_verb_noun_top1``/``top5`` (the original's "Visual Acc@1/@5": verb in the top k AND noun in the
    top k, each head ranked on its own; not the official action@5, which ranks verb x noun products).
    """

    stream_bests = EPIC100_BESTS

    def __init__(self, main_metric: str = "all_action_accuracy_at_1", verb_task: str = "visual_verb",
                 noun_task: str = "visual_noun", action_task: str = "visual_action") -> None:
        self.main_metric = main_metric
        self.verb_task, self.noun_task, self.action_task = verb_task, noun_task, action_task

    def empty_groups(self, annotations: SplitAnnotations) -> dict[str, str]:
        """{subset: why} for each official subset (tail, unseen) that yields no metric on these annotations,
        so that a run says so instead of silently lacking its rows."""
        extra, seg = annotations.extra, annotations.segments
        rows = seg[seg[self.verb_task] >= 0] if self.verb_task in seg.columns else seg.iloc[:0]
        out = {}
        if extra.get("tail_verbs") is None or extra.get("tail_nouns") is None:
            out["tail"] = "the dataset gave no tail-class lists (EPIC_100_tail_verbs.csv, EPIC_100_tail_nouns.csv)"
        unseen = extra.get("unseen_participants")
        if unseen is None:
            out["unseen"] = "the dataset gave no unseen-participant list for this split"
        else:
            participants = pd.Series(extra.get("participant_id", {})).reindex(rows["segment_id"].astype(str))
            if not participants.isin([str(p) for p in unseen]).any():
                out["unseen"] = (f"none of its {len(rows)} labelled segments is from one of the {len(unseen)} "
                                 f"unseen participants listed ({', '.join(map(str, list(unseen)[:5]))}); the "
                                 f"official evaluator leaves these metrics out too")
        return out

    def __call__(self, predictions: Predictions, annotations: SplitAnnotations) -> dict[str, float]:
        verb = predictions.task(self.verb_task)
        noun = predictions.task(self.noun_task)
        noun_rows = rows_in_order(verb.ids, noun, self.noun_task, self.verb_task)
        verb_labels, noun_labels = _labels(verb, self.verb_task), _labels(noun, self.noun_task)[noun_rows]
        extra = annotations.extra
        metrics = epic100_metrics(verb.logits, noun.logits[noun_rows], verb_labels, noun_labels,
                                  participant_ids=_participants(extra, verb.ids), tail_verbs=extra.get("tail_verbs"),
                                  tail_nouns=extra.get("tail_nouns"),
                                  unseen_participants=extra.get("unseen_participants"))
        if self.action_task in predictions.by_task:
            action = predictions.task(self.action_task)
            rows = rows_in_order(verb.ids, action, self.action_task, self.verb_task)
            ranked = rank_classes(action.logits[rows], 5)
            hit = ranked == action.labels[rows, None]  # label -1 (action outside the vocabulary) never matches
            metrics["tim_action_head_top1"] = float(100.0 * hit[:, 0].mean())
            metrics["tim_action_head_top5"] = float(100.0 * hit.any(axis=1).mean())
        verb_hit = rank_classes(verb.logits, 5) == verb_labels[:, None]
        noun_hit = rank_classes(noun.logits[noun_rows], 5) == noun_labels[:, None]
        metrics["tim_verb_noun_top1"] = float(100.0 * (verb_hit[:, 0] & noun_hit[:, 0]).mean())
        metrics["tim_verb_noun_top5"] = float(100.0 * (verb_hit.any(axis=1) & noun_hit.any(axis=1)).mean())
        return metrics


@METRICS.register_module()
class EPICSoundsMetrics:
    """The official EPIC-Sounds metrics (top-1/5, mCA, mAP in percent, mAUC a fraction) of the audio task.

    ``exclude_background`` drops segments labelled background (13) first, as the challenge test set does.
    """

    stream_bests = EPIC_SOUNDS_BESTS

    def __init__(self, main_metric: str = "all_interaction_accuracy_at_1", exclude_background: bool = False,
                 task: str = "audio_interaction") -> None:
        self.main_metric = main_metric
        self.exclude_background, self.task = exclude_background, task

    def __call__(self, predictions: Predictions, annotations: SplitAnnotations) -> dict[str, float]:
        audio = predictions.task(self.task)
        return epic_sounds_metrics(audio.logits, _labels(audio, self.task), self.exclude_background)


@METRICS.register_module()
class EPICJointMetrics:
    """EPIC-100 and EPIC-Sounds metrics of a joint run, for whichever of the two streams the predictions hold.

    The official names differ between the challenges, so both sets share one dict without prefixes.
    ``main_metric`` must be one the predictions produce: an audio-only run sets
    ``all_interaction_accuracy_at_1``.
    """

    stream_bests = EPIC100_BESTS + EPIC_SOUNDS_BESTS

    def __init__(self, main_metric: str = "all_action_accuracy_at_1", exclude_background: bool = False) -> None:
        self.main_metric = main_metric
        self.visual, self.audio = EPIC100Metrics(), EPICSoundsMetrics(exclude_background=exclude_background)

    def __call__(self, predictions: Predictions, annotations: SplitAnnotations) -> dict[str, float]:
        metrics: dict[str, float] = {}
        if {self.visual.verb_task, self.visual.noun_task} <= predictions.by_task.keys():
            metrics.update(self.visual(predictions, annotations))
        if self.audio.task in predictions.by_task:
            metrics.update(self.audio(predictions, annotations))
        if not metrics:
            raise DataError(f"These {predictions.dataset} {predictions.split} predictions hold neither EPIC-100 "
                            f"verb and noun nor EPIC-Sounds tasks (they hold {sorted(predictions.by_task)}).")
        if self.main_metric not in metrics:
            raise DataError(f"EPICJointMetrics main_metric '{self.main_metric}' is not among the metrics of these "
                            f"predictions ({', '.join(metrics)}); set main_metric in the evaluator config to one "
                            f"of them.")
        return metrics
