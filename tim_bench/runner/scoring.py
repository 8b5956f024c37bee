"""Score each of the original's per-stream best checkpoints on the scored split, for result.json.

The main-metric view (best.pth) is scored by the runner itself; here every stream best (see
``evaluation.selection``) is predicted with its own checkpoint, once per distinct epoch, and reports the
metrics the original reports from that checkpoint.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tim_bench_registry import SplitAnnotations
from tim_bench_registry.predictions import Predictions

from ..evaluation.selection import original_view, stream_bests_of
from .trainer import TrainResult, stream_best_file


def predict_stream_bests(trained: TrainResult, work_dir: Path, main_preds: Predictions,
                         predict: Callable[[Path, int], Predictions]) -> dict[int, Predictions]:
    """{epoch: predictions} for every stream-best epoch; the main best's epoch reuses ``main_preds``.

    ``predict(checkpoint, epoch)`` must check that the checkpoint is the one this run wrote at ``epoch``.
    Runs on every rank (prediction all-reduces across DDP ranks).
    """
    out = {trained.best_epoch: main_preds}
    for name, block in sorted(trained.stream_best.items()):
        if block["epoch"] not in out:
            out[block["epoch"]] = predict(work_dir / stream_best_file(name), block["epoch"])
    return out


def score_stream_bests(trained: TrainResult, work_dir: Path, by_epoch: dict[int, Predictions], metric: Any,
                       annotations: SplitAnnotations) -> tuple[dict[str, dict[str, Any]], dict[str, float | None]]:
    """(stream_best blocks {name: {epoch, metric, value, metrics, checkpoint}}, the original's metric view).

    ``value`` is the validation value that selected the epoch; ``metrics`` are the scored split's metrics
    the original reports from that checkpoint.
    """
    selections = stream_bests_of(metric)
    scored: dict[int, dict[str, float]] = {}
    blocks: dict[str, dict[str, Any]] = {}
    for sel in selections:
        block = trained.stream_best.get(sel.name)
        if block is None:
            continue
        epoch = block["epoch"]
        if epoch not in scored:
            scored[epoch] = metric(by_epoch[epoch], annotations)
        blocks[sel.name] = {"epoch": epoch, "metric": sel.metric, "value": block["value"],
                            "metrics": {k: v for k, v in scored[epoch].items() if sel.owns(k)},
                            "checkpoint": str((work_dir / stream_best_file(sel.name)).resolve())}
    return blocks, dict(original_view(blocks, selections))  # the record's type: a metric may be undefined (None)
