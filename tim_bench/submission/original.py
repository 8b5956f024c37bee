"""Export predictions as the dict the original TIM writes with ``--extract_feats``, for tools built around it.

Keys as in the original recognition README: ``action`` [N_v, classes], ``verb`` [N_v, 97] and ``noun``
[N_v, 300] (EPIC only), ``v_narration_ids``; ``audio`` [N_a, classes], ``a_narration_ids``. Scores are the
softmax of each segment's window-averaged logits, as the original meters store them. A stream the
predictions lack is left out. Written with ``torch.save`` (float32 tensors and lists of str), so
``torch.load(path, weights_only=True)`` reads it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from tim_bench_registry import DataError

from ..evaluation.accuracy import softmax
from ..evaluation.predictions import Predictions, rows_in_order
from ..io import write_atomic

VERB_NOUN = ("verb", "noun")


def _probabilities(logits: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(softmax(np.asarray(logits)).astype(np.float32))


def _single(predictions: Predictions, stream: str, exclude: tuple[str, ...] = ()) -> str | None:
    """The key of the stream's one task outside ``exclude``; None if the stream has none."""
    keys = [t.key for t in predictions.tasks
            if t.stream == stream and t.name not in exclude and t.key in predictions.by_task]
    if len(keys) > 1:
        raise DataError(f"The {stream} stream of these predictions has tasks {keys}; the original TIM dict holds "
                        f"one {stream} class score per segment, so export predictions of one task.")
    return keys[0] if keys else None


def original_prediction_dict(predictions: Predictions) -> dict[str, object]:
    """The original TIM's prediction dict of ``predictions`` (see the module docstring)."""
    exported: dict[str, object] = {}
    action_key = _single(predictions, "visual", exclude=VERB_NOUN)
    if action_key is not None:
        action = predictions.task(action_key)
        exported["action"] = _probabilities(action.logits)
        exported["v_narration_ids"] = [str(i) for i in action.ids]
        for name in VERB_NOUN:
            key = f"visual_{name}"
            if key in predictions.by_task:
                task = predictions.task(key)
                exported[name] = _probabilities(task.logits[rows_in_order(action.ids, task, key, action_key)])
    audio_key = _single(predictions, "audio")
    if audio_key is not None:
        audio = predictions.task(audio_key)
        exported["audio"] = _probabilities(audio.logits)
        exported["a_narration_ids"] = [str(i) for i in audio.ids]
    if not exported:
        raise DataError(f"These {predictions.dataset} {predictions.split} predictions hold no visual action or audio "
                        f"task (they hold {sorted(predictions.by_task)}); nothing to export.")
    return exported


def save_original_dict(exported: dict[str, object], path: str | Path) -> Path:
    """Write a dict made by ``original_prediction_dict`` with torch.save, atomically."""
    return write_atomic(path, lambda tmp: torch.save(exported, tmp))


def export_original_predictions(predictions: Predictions, path: str | Path) -> Path:
    """Write the original TIM's prediction dict of ``predictions`` to ``path``."""
    return save_original_dict(original_prediction_dict(predictions), path)
