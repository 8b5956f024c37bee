"""Several dataset plugins read as one (e.g. EPIC-KITCHENS-100 visual + EPIC-Sounds audio on the same videos).

The engine joins them so that dataset plugins never import each other.
"""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from tim_bench_registry import IGNORE_LABEL, DataError, DatasetPlugin, SplitAnnotations, Task

from .checked import load_annotations


class JointDataset:
    """The union of plugins' segments and tasks; a video's duration is the longest any plugin gives it."""

    def __init__(self, plugins: Sequence[DatasetPlugin], names: Sequence[str]) -> None:
        self.plugins, self.names = tuple(plugins), tuple(names)
        #: each split's annotations as each plugin read them (checked part by part), from its latest load
        self.parts: dict[str, tuple[SplitAnnotations, ...]] = {}
        keys = [t.key for p in self.plugins for t in p.tasks()]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise DataError(f"Datasets {self.names} both define tasks {sorted(dup)}; a joint run needs distinct tasks.")

    def splits(self) -> tuple[str, ...]:
        common = set(self.plugins[0].splits())
        for p in self.plugins[1:]:
            common &= set(p.splits())
        return tuple(s for s in self.plugins[0].splits() if s in common)

    def tasks(self) -> tuple[Task, ...]:
        return tuple(t for p in self.plugins for t in p.tasks())

    def load(self, split: str) -> SplitAnnotations:
        parts = tuple(load_annotations(p, split, name) for p, name in zip(self.plugins, self.names))
        self.parts[split] = parts  # each part checked whole, so a problem names its dataset's file
        task_keys = [t.key for t in self.tasks()]
        tables = []
        for part in parts:
            seg = part.segments.copy()
            for key in task_keys:
                if key not in seg.columns:
                    seg[key] = IGNORE_LABEL
            tables.append(seg)
        durations: dict[str, float] = {}
        for part in parts:
            for v, d in part.durations.items():
                durations[v] = max(d, durations.get(v, 0.0))
        extra = {k: v for part in parts for k, v in part.extra.items()}
        return SplitAnnotations(segments=pd.concat(tables, ignore_index=True), durations=durations,
                                tasks=self.tasks(), labelled=all(p.labelled for p in parts), extra=extra)


def parts_of(plugin: DatasetPlugin, split: str, annotations: SplitAnnotations) -> tuple[SplitAnnotations, ...]:
    """``annotations`` of ``split`` as the datasets read them: one part per dataset of a joint run, else itself."""
    return plugin.parts[split] if isinstance(plugin, JointDataset) else (annotations,)
