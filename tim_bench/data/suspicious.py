"""Annotations and feature grids that are legal but probably wrong: warnings, with counts, for check-data and run.

A split whose median segment is shorter than one feature step (timestamps in another unit, or a wrong feature
grid), segments ending past their video's end beyond a tolerance (windows clip them: wrong timestamps or video
info), feature times running past the video's end or not covering it, feature grids with a repeated row (the
same time read twice), and videos with no segment (skipped).
Malformed values are errors where they are read; these only warn, since real files hold some (the official
EPIC-Sounds test timestamps end one segment 691 s after its video).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tim_bench_registry import SplitAnnotations

#: Seconds a segment may end after its video (and feature times may fall short of it) before a warning.
DEFAULT_TIME_TOLERANCE = 1.0
_SHOWN = 3


def split_warnings(split: str, ann: SplitAnnotations, feature_times: Mapping[str, np.ndarray],
                   tolerance: float = DEFAULT_TIME_TOLERANCE, coverage: bool = True) -> list[str]:
    """One sentence per kind of suspicious content in ``split`` (its annotations and its videos' feature times);
    ``coverage``: also feature times that do not cover their video (check-data reports those as problems)."""
    return [w for w in (_short_segments(split, ann, feature_times), _past_the_end(split, ann, tolerance),
                        _features_outside(split, ann, feature_times, tolerance, coverage),
                        _repeated_rows(split, feature_times), _videos_without_segments(split, ann)) if w]


def feature_step(feature_times: Mapping[str, np.ndarray]) -> float | None:
    """The median gap between consecutive feature starts over all videos; None without two features."""
    gaps = [np.diff(np.asarray(t, np.float64)[:, 0]) for t in feature_times.values() if len(t) > 1]
    gaps = [g for g in gaps if len(g)]
    return float(np.median(np.concatenate(gaps))) if gaps else None


def _short_segments(split: str, ann: SplitAnnotations, feature_times: Mapping[str, np.ndarray]) -> str:
    step = feature_step(feature_times)
    lengths = (ann.segments["stop"] - ann.segments["start"]).to_numpy(float)
    if step is None or not len(lengths) or np.median(lengths) >= step:
        return ""
    return (f"{split}: the median segment lasts {np.median(lengths):.3g} s, shorter than one feature step "
            f"({step:.3g} s); {int((lengths < step).sum())} of {len(lengths)} segments are: check that the "
            f"timestamps are in the unit the dataset reads and that the features are on the right time grid.")


def _past_the_end(split: str, ann: SplitAnnotations, tolerance: float) -> str:
    seg = ann.segments
    duration = seg["video_id"].map(ann.durations).to_numpy(float)
    over = seg["stop"].to_numpy(float) - duration
    past = np.flatnonzero(over > tolerance)
    if not len(past):
        return ""
    shown = ", ".join(f"{seg.segment_id.iloc[i]} ends {over[i]:.1f} s after video {seg.video_id.iloc[i]} "
                      f"({duration[i]:g} s)" for i in past[np.argsort(-over[past])][:_SHOWN])
    return (f"{split}: {len(past)} of {len(seg)} segments end more than {tolerance:g} s after their video's end "
            f"({shown}); windows clip them to the video: check their timestamps or the video info.")


def _features_outside(split: str, ann: SplitAnnotations, feature_times: Mapping[str, np.ndarray], tolerance: float,
                      coverage: bool) -> str:
    """Videos whose feature times run past the video's end (another unit or the wrong video info) or, with
    ``coverage``, start late or stop early (the windows there repeat the nearest feature)."""
    spans = {v: (float(np.min(t)), float(np.max(t)), ann.durations[v]) for v, t in feature_times.items()
             if len(t) and v in ann.durations}
    long = [f"{v} ([{a:g}, {b:g}] s of {d:g} s)" for v, (a, b, d) in spans.items() if b > d + tolerance]
    short = [f"{v} ([{a:g}, {b:g}] s of {d:g} s)" for v, (a, b, d) in spans.items()
             if coverage and (a > tolerance or b < d - tolerance)]
    out = []
    if long:
        out.append(f"the feature times of {len(long)} of {len(spans)} videos run more than {tolerance:g} s past the "
                   f"video's end ({', '.join(long[:_SHOWN])}): check their unit and the video info")
    if short:
        out.append(f"the feature times of {len(short)} of {len(spans)} videos do not cover the video within "
                   f"{tolerance:g} s ({', '.join(short[:_SHOWN])}): windows there repeat the nearest feature")
    return f"{split}: {'; '.join(out)}." if out else ""


def _repeated_rows(split: str, feature_times: Mapping[str, np.ndarray]) -> str:
    repeats = {v: np.flatnonzero((np.diff(np.asarray(t, np.float64), axis=0) == 0).all(1))
               for v, t in feature_times.items()}
    repeats = {v: r for v, r in repeats.items() if len(r)}
    if not repeats:
        return ""
    video, rows = next(iter(repeats.items()))
    times = np.asarray(feature_times[video], np.float64)[rows[0]]
    total = sum(len(r) for r in repeats.values())
    return (f"{split}: {len(repeats)} videos have repeated feature rows ({total} rows equal to the row before; "
            f"e.g. video {video} rows {rows[0]} and {rows[0] + 1} are both [{times[0]:g}, {times[1]:g}] s); windows "
            f"read that time twice: fix the interval table or re-extract.")


def _videos_without_segments(split: str, ann: SplitAnnotations) -> str:
    annotated = set(ann.segments["video_id"])
    empty = [v for v in ann.durations if v not in annotated]
    if not empty:
        return ""
    return (f"{split}: {len(empty)} of {len(ann.durations)} videos have no segments and are skipped "
            f"({', '.join(empty[:_SHOWN])}{', ...' if len(empty) > _SHOWN else ''}).")
