"""Per-stream best checkpoints as the original TIM's meters keep them.

The original (``utils/meters.py`` InferenceMeter, ``utils/checkpoint.py``) saves up to four best
checkpoints, each by its own validation top-1 (strictly greater than the best so far):
``visual`` (model_best_visual: the visual action head), ``visual_mt`` (model_best_mt_visual: verb and
noun heads both right), ``audio`` (model_best_audio) and ``combined`` (model_best_combined: a fused
audio-visual prediction). Its early stopping counts epochs since the last better ``visual`` value.

A metric plugin declares its selections as ``stream_bests``: a tuple of ``StreamBest`` (or plain
``(name, metric, reports)`` tuples), ``reports`` being fnmatch patterns of the metrics that the
original reports from that checkpoint. A selection whose metric a run does not produce is skipped.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tim_bench_registry import StreamBest

__all__ = ["ORDER", "StreamBest", "original_view", "present", "stream_bests_of"]

#: The original's order: its early stopping follows the first one present ("visual").
ORDER = ("visual", "visual_mt", "audio", "combined")


def stream_bests_of(metric: Any) -> tuple[StreamBest, ...]:
    """The selections a metric plugin (or CombinedMetrics) declares; none for a plugin that declares none."""
    declared = getattr(metric, "stream_bests", ()) or ()
    out = [s if isinstance(s, StreamBest) else StreamBest(s[0], s[1], tuple(s[2])) for s in declared]
    return tuple(sorted(out, key=lambda s: ORDER.index(s.name) if s.name in ORDER else len(ORDER)))


def present(bests: Iterable[StreamBest], metrics: Mapping[str, float]) -> tuple[StreamBest, ...]:
    """The selections whose metric this run produces."""
    return tuple(s for s in bests if s.metric in metrics)


def original_view(stream_best: Mapping[str, Mapping[str, Any]], bests: Iterable[StreamBest]) -> dict[str, float]:
    """Each metric taken from the best checkpoint the original reports it from (first owner in ORDER)."""
    out: dict[str, float] = {}
    for s in bests:
        block = stream_best.get(s.name)
        if block is None:
            continue
        for name, value in block["metrics"].items():
            if s.owns(name) and name not in out:
                out[name] = value
    return out
