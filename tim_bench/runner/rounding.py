"""The precision ``metrics.jsonl`` keeps: each value to what its kind of number can tell.

* metrics (accuracies and mCA/mAP in percent, mAUC as a fraction): 4 decimals, finer than one segment of
  any split up to a million segments;
* losses: 5 significant digits;
* learning rates: 4 significant digits (1.234e-05);
* times: 0.01 s.

``result.json`` and the checkpoints keep full precision; this rounding is for reading and diffing the log.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

METRIC_DECIMALS = 4
LOSS_DIGITS = 5
LR_DIGITS = 4
TIME_DECIMALS = 2


def significant(value: float, digits: int) -> float:
    """``value`` to ``digits`` significant digits (0, NaN and inf unchanged)."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def round_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Every numeric metric to ``METRIC_DECIMALS`` decimals (anything else, e.g. null, as it is)."""
    return {k: round(v, METRIC_DECIMALS) if isinstance(v, float) else v for k, v in metrics.items()}


def round_epoch(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One epoch line of ``metrics.jsonl``: loss, lr, time and validation metrics each to its precision."""
    out = dict(entry)
    if isinstance(out.get("train_loss"), float):
        out["train_loss"] = significant(out["train_loss"], LOSS_DIGITS)
    if isinstance(out.get("lr"), float):
        out["lr"] = significant(out["lr"], LR_DIGITS)
    if isinstance(out.get("time_s"), float):
        out["time_s"] = round(out["time_s"], TIME_DECIMALS)
    if isinstance(out.get("val"), Mapping):
        out["val"] = round_metrics(out["val"])
    return out
