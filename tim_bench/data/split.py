"""``SplitData``: one split's annotations, windows and queries, ready for a loader and the evaluator."""
from __future__ import annotations

from dataclasses import dataclass

from tim_bench_registry import SplitAnnotations

from .dataset import QueryTable, WindowBatches
from .windows import Windows


@dataclass
class SplitData:
    """One split, ready to iterate; ``dataset`` (its features in a store) is made by the first ``loader``."""

    name: str
    annotations: SplitAnnotations
    windows: Windows
    queries: QueryTable
    train: bool
    dataset: WindowBatches | None = None

    def batches(self) -> WindowBatches:
        """``dataset``, which the split's first loader made (calling this before any loader is a bug)."""
        if self.dataset is None:
            raise RuntimeError(f"split {self.name} has no dataset yet: make its loader first (Experiment.loader).")
        return self.dataset
