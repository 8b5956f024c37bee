"""Export predictions as the dict the original TIM writes with ``--extract_feats``, for tools built around it.

As the original's ``FeatureMeter.finalize_metrics`` builds it and ``pickle.dump`` saves it: ``action``
[N_v, classes], ``verb`` [N_v, 97] and ``noun`` [N_v, 300] (EPIC only), ``audio`` [N_a, classes] as float32
numpy arrays (the softmax of each segment's window-averaged logits), and ``v_narration_ids`` /
``a_narration_ids`` as numpy object arrays of str carrying the original's in-memory prefixes ``v_`` and
``a_``. Plain ``pickle.load`` or ``pd.read_pickle`` reads it. One difference: a stream the predictions
lack is left out, where the original keeps a zero array of every segment under its key.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from tim_bench_registry import DataError, Predictions, rows_in_order
from tim_bench_registry.files import write_atomic
from tim_bench_registry.scores import softmax

VERB_NOUN = ("verb", "noun")
#: the original's id prefix per stream (sliding_window.py adds it to every narration id it loads)
PREFIX = {"visual": "v_", "audio": "a_"}


def _probabilities(logits: np.ndarray) -> np.ndarray:
    return softmax(np.asarray(logits, dtype=np.float32)).astype(np.float32)


def _ids(ids: np.ndarray, stream: str) -> np.ndarray:
    """Segment ids as the original stores them: an object array of prefixed str."""
    return np.array([f"{PREFIX[stream]}{i}" for i in ids], dtype=object)


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
        exported["v_narration_ids"] = _ids(action.ids, "visual")
        for name in VERB_NOUN:
            key = f"visual_{name}"
            if key in predictions.by_task:
                task = predictions.task(key)
                exported[name] = _probabilities(task.logits[rows_in_order(action.ids, task, key, action_key)])
    audio_key = _single(predictions, "audio")
    if audio_key is not None:
        audio = predictions.task(audio_key)
        exported["audio"] = _probabilities(audio.logits)
        exported["a_narration_ids"] = _ids(audio.ids, "audio")
    if not exported:
        raise DataError(f"These {predictions.dataset} {predictions.split} predictions hold no visual action or audio "
                        f"task (they hold {sorted(predictions.by_task)}); nothing to export.")
    return exported


def save_original_dict(exported: dict[str, object], path: str | Path) -> Path:
    """Write a dict made by ``original_prediction_dict`` with pickle, as the original does, atomically."""
    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            pickle.dump(exported, f)
    return write_atomic(path, _write)


def export_original_predictions(predictions: Predictions, path: str | Path) -> Path:
    """Write the original TIM's prediction dict of ``predictions`` to ``path``."""
    return save_original_dict(original_prediction_dict(predictions), path)
