"""Several metric plugins reported together; the first one's main metric selects checkpoints."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tim_bench_registry import DataError, SplitAnnotations
from tim_bench_registry.predictions import Predictions

from .selection import stream_bests_of


class CombinedMetrics:
    """Calls each metric and merges their results (metric names must not collide)."""

    def __init__(self, metrics: Sequence[Any]) -> None:
        self.metrics = tuple(metrics)
        self.main_metric = self.metrics[0].main_metric
        # each evaluator's per-stream bests; the first to declare a name keeps it
        seen: dict[str, Any] = {}
        for metric in self.metrics:
            for best in stream_bests_of(metric):
                seen.setdefault(best.name, best)
        self.stream_bests = tuple(seen.values())

    def __call__(self, predictions: Predictions, annotations: SplitAnnotations) -> dict[str, float]:
        out: dict[str, float] = {}
        for metric in self.metrics:
            for name, value in metric(predictions, annotations).items():
                if name in out:
                    raise DataError(f"Two evaluators report '{name}'; give them distinct metric names.")
                out[name] = value
        return out
