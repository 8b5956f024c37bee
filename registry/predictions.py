"""Per-segment predictions of one split: the file every writer, metric and comparison reads (public contract).

Stored as one ``.npz`` (no pickles): for each task key ``K`` the arrays ``K.ids`` (segment ids,
unicode), ``K.logits`` ([N, C] float32, logits averaged over every window that queried the
segment) and ``K.labels`` ([N] int64, -1 when unlabelled), plus ``meta`` (a JSON string).
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .contracts import Task
from .errors import DataError
from .files import write_atomic


@dataclass
class TaskPredictions:
    """Aggregated logits of every segment queried for one task."""

    ids: np.ndarray      # [N] str
    logits: np.ndarray   # [N, C] float32
    labels: np.ndarray   # [N] int64, -1 = unlabelled


@dataclass
class Predictions:
    """All tasks' predictions for one split of one dataset."""

    dataset: str
    split: str
    tasks: tuple[Task, ...]
    by_task: dict[str, TaskPredictions]
    meta: dict[str, Any] = field(default_factory=dict)

    def save(self, path: str | Path) -> Path:
        """Write atomically to ``path`` (.npz)."""
        arrays: dict[str, np.ndarray] = {}
        for key, p in self.by_task.items():
            arrays[f"{key}.ids"] = np.asarray(p.ids, dtype=str)
            arrays[f"{key}.logits"] = np.asarray(p.logits, dtype=np.float32)
            arrays[f"{key}.labels"] = np.asarray(p.labels, dtype=np.int64)
        meta = {"dataset": self.dataset, "split": self.split, **self.meta,
                "tasks": [dict(stream=t.stream, name=t.name, num_classes=t.num_classes,
                               class_names=list(t.class_names)) for t in self.tasks]}
        arrays["meta"] = np.asarray(json.dumps(meta))

        def _write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub types the keywords as allow_pickle
        return write_atomic(path, _write)

    @classmethod
    def load(cls, path: str | Path) -> "Predictions":
        """Read a predictions file written by ``save`` (never unpickles)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                tasks = tuple(Task(t["stream"], t["name"], t["num_classes"], tuple(t.get("class_names", ())))
                              for t in meta.pop("tasks"))
                by_task = {t.key: TaskPredictions(data[f"{t.key}.ids"], data[f"{t.key}.logits"],
                                                  data[f"{t.key}.labels"])
                           for t in tasks if f"{t.key}.ids" in data}
        except FileNotFoundError:
            raise DataError(f"Predictions file {path} does not exist; write one with `tim-bench predict`.") from None
        except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
            raise DataError(f"{path} is not a tim-bench predictions file ({exc}).") from exc
        return cls(meta.pop("dataset"), meta.pop("split"), tasks, by_task, meta)

    def task(self, key: str) -> TaskPredictions:
        """The predictions of one task; a missing task names the ones present."""
        if key not in self.by_task:
            raise DataError(f"These {self.dataset} {self.split} predictions have no task '{key}'; "
                            f"they hold {sorted(self.by_task)}.")
        return self.by_task[key]


def rows_in_order(ids: np.ndarray, task: TaskPredictions, key: str, reference: str) -> np.ndarray:
    """Row indices of ``task`` that put its segments in the order of ``ids``; both must hold the same ids."""
    index = pd.Index(task.ids)
    rows = index.get_indexer(ids)
    if (rows < 0).any() or len(index) != len(ids):
        missing = np.asarray(ids)[rows < 0]
        detail = f"{len(missing)} {reference} segments (first {missing[0]}) have no {key} row" if len(missing) \
            else f"{key} has {len(index)} rows for {len(ids)} {reference} segments"
        raise DataError(f"The {key} and {reference} predictions must cover the same segments, but {detail}; "
                        f"predict every task of the stream together.")
    return rows
