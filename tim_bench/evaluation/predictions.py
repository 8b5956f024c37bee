"""The predictions file type, public in ``tim_bench_registry.predictions``; named here for engine modules."""
from tim_bench_registry.predictions import Predictions, TaskPredictions, rows_in_order

__all__ = ["Predictions", "TaskPredictions", "rows_in_order"]
