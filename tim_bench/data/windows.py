"""Sliding windows over long videos with the original TIM's semantics, built in vectorised numpy.

A window spans ``num_feats * feat_gap * feat_stride`` seconds and starts every ``window_stride``
seconds over the video's duration rounded up to whole seconds. It queries every segment that
overlaps it and lies wholly inside it, or whose clipped part is at least ``min_query_size``
seconds; windows without a query are dropped, and every segment must be queried at least once.
"""
from __future__ import annotations

import hashlib
import logging
import math
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from tim_bench_registry import DataError

from ..io import remove_orphaned_tmp, write_atomic

CACHE_VERSION = 1
#: A window-cache temp file older than this (seconds) was left by a killed write and is removed.
STALE_TMP_SECONDS = 600.0
log = logging.getLogger("tim_bench")


@dataclass(frozen=True)
class WindowSpec:
    """Window geometry; ``size`` is the span every time is normalised by."""

    num_feats: int = 50
    feat_gap: float = 0.2
    feat_stride: int = 3
    window_stride: float = 1.0
    min_query_size: float = 0.2

    @property
    def size(self) -> float:
        """Window length in seconds: num_feats x feat_gap x feat_stride."""
        return self.num_feats * self.feat_gap * self.feat_stride


@dataclass(frozen=True)
class Windows:
    """All windows of one split, queries stored CSR-style (window w owns ``query_ptr[w]:query_ptr[w+1]``)."""

    video_ids: np.ndarray    # [W] str
    start: np.ndarray        # [W] float64 seconds
    stop: np.ndarray         # [W] float64 seconds (clipped to the rounded-up duration)
    feat_idx: np.ndarray     # [W, num_feats] int64 rows into each stream's features
    query_ptr: np.ndarray    # [W + 1] int64
    query_row: np.ndarray    # [Q] int64 rows of the segments table
    query_start: np.ndarray  # [Q] float64 clipped to the window
    query_stop: np.ndarray   # [Q] float64
    size: float

    def __len__(self) -> int:
        return len(self.start)

    def queries_per_window(self) -> np.ndarray:
        """[W] number of queries (both streams) of each window."""
        return np.diff(self.query_ptr)


def _nearest(sorted_values: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Index of the element nearest each target, the first one on ties (as ``np.abs(a - x).argmin()``)."""
    i = np.searchsorted(sorted_values, targets, side="left").clip(1, len(sorted_values) - 1)
    left, right = sorted_values[i - 1], sorted_values[i]
    pick = np.where(np.abs(targets - left) <= np.abs(right - targets), i - 1, i)
    if len(sorted_values) == 1:
        pick = np.zeros_like(pick)
    # with repeated values argmin returns the first occurrence of the nearest value
    return np.searchsorted(sorted_values, sorted_values[pick], side="left")


def feature_indices(times: np.ndarray, start: np.ndarray, stop: np.ndarray, spec: WindowSpec,
                    video_id: str = "?") -> np.ndarray:
    """[W, num_feats] feature rows of each window: from the feature starting nearest the window start, up
    to the one ending nearest its stop, every feat_stride-th; clipped, padded by repeating the last."""
    if len(times) == 0:
        raise DataError(f"Video {video_id} has no features; extract them or drop the video from the split.")
    first, last = times[:, 0], times[:, 1]
    if np.all(np.diff(first) >= 0) and np.all(np.diff(last) >= 0):
        lo, hi = _nearest(first, np.maximum(start, 0.0)), _nearest(last, stop)
    else:  # non-monotone feature intervals: exact argmin, one window at a time
        lo = np.array([np.abs(first - max(s, 0.0)).argmin() for s in start])
        hi = np.array([np.abs(last - e).argmin() for e in stop])
    steps = np.arange(spec.num_feats) * spec.feat_stride
    idx = lo[:, None] + steps[None, :]
    count = np.maximum((idx < hi[:, None]).sum(axis=1), 1)  # an empty range keeps its first feature
    idx = np.where(steps[None, :] < (count * spec.feat_stride)[:, None], idx, idx[np.arange(len(idx)), count - 1][:, None])
    return idx.clip(0, len(times) - 1)


def build_windows(segments: pd.DataFrame, durations: Mapping[str, float],
                  feature_times: Mapping[str, np.ndarray], spec: WindowSpec) -> Windows:
    """Windows over every video of ``segments`` (columns video_id, start, stop; row order kept)."""
    annotated = set(segments["video_id"])
    videos = [v for v in durations if v in annotated]
    code_of = {v: i for i, v in enumerate(videos)}
    code = segments["video_id"].map(code_of).to_numpy()
    if np.isnan(code.astype(float)).any():
        row = segments[pd.isna(segments["video_id"].map(code_of))].iloc[0]
        raise DataError(f"Segment {row.get('segment_id', row.name)} is in video {row.video_id}, which has no duration.")
    code = code.astype(np.int64)
    duration = np.array([math.ceil(durations[v]) for v in videos], dtype=np.float64)
    num_windows = np.maximum(np.ceil((duration - spec.size) / spec.window_stride) + 1, 1).astype(np.int64)

    seg_start = segments["start"].to_numpy(np.float64)
    seg_stop = np.minimum(segments["stop"].to_numpy(np.float64), duration[code])
    # Generous window range per segment (one extra each side); the exact test below decides.
    w_lo = np.clip(np.floor((seg_start - spec.size) / spec.window_stride).astype(np.int64), 0, None)
    w_hi = np.minimum(np.ceil(seg_stop / spec.window_stride).astype(np.int64), num_windows[code] - 1)
    counts = np.maximum(w_hi - w_lo + 1, 0)
    seg = np.repeat(np.arange(len(segments)), counts)
    w = w_lo[seg] + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)

    win_start = spec.window_stride * w
    win_stop = np.minimum(duration[code[seg]], win_start + spec.size)
    s, e = seg_start[seg], seg_stop[seg]
    overlap = (s < win_stop) & (e > win_start)
    q_start, q_stop = np.maximum(s, win_start), np.minimum(e, win_stop)
    whole = np.round(q_stop - q_start, 3) == np.round(e - s, 3)
    keep = overlap & (whole | (np.round(q_stop - q_start, 3) >= spec.min_query_size))
    seg, w, q_start, q_stop = seg[keep], w[keep], q_start[keep], q_stop[keep]

    unqueried = np.setdiff1d(np.arange(len(segments)), seg)
    if len(unqueried):
        ids = segments.iloc[unqueried[:5]].get("segment_id", pd.Series(unqueried[:5])).tolist()
        raise DataError(f"{len(unqueried)} segments are queried by no window (first: {ids}); they are shorter "
                        f"than min_query_size={spec.min_query_size} s and longer than any window, or lie past "
                        f"their video's end: lower min_query_size or fix the segments.")

    order = np.lexsort((seg, w, code[seg]))  # video, then window, then segment row order
    seg, w, q_start, q_stop = seg[order], w[order], q_start[order], q_stop[order]
    win_key = code[seg] * (num_windows.max() + 1) + w
    first = np.flatnonzero(np.r_[True, win_key[1:] != win_key[:-1]])
    win_code, win_w = code[seg][first], w[first]
    start = spec.window_stride * win_w
    stop = np.minimum(duration[win_code], start + spec.size)

    feat_idx = np.zeros((len(first), spec.num_feats), dtype=np.int64)
    bounds = np.searchsorted(win_code, np.arange(len(videos) + 1))
    for c, v in enumerate(videos):
        a, b = bounds[c], bounds[c + 1]
        if a == b:
            continue
        if v not in feature_times:
            raise DataError(f"Video {v} has annotated segments but no features; extract its features or "
                            f"remove it from the split.")
        feat_idx[a:b] = feature_indices(np.asarray(feature_times[v], dtype=np.float64), start[a:b], stop[a:b],
                                        spec, v)
    return Windows(video_ids=np.asarray(videos, dtype=str)[win_code], start=start, stop=stop, feat_idx=feat_idx,
                   query_ptr=np.r_[first, len(seg)].astype(np.int64), query_row=seg.astype(np.int64),
                   query_start=q_start, query_stop=q_stop, size=spec.size)


def content_hash(segments: pd.DataFrame, durations: Mapping[str, float],
                 feature_times: Mapping[str, np.ndarray], spec: WindowSpec) -> str:
    """A hash of every input the windows depend on (a stale cache is impossible by construction)."""
    h = hashlib.sha256(f"v{CACHE_VERSION}|{spec}".encode())
    h.update(pd.util.hash_pandas_object(segments[["video_id", "start", "stop"]], index=False).to_numpy().tobytes())
    for v in sorted(durations):
        h.update(f"{v}:{durations[v]!r};".encode())
        if v in feature_times:
            h.update(np.ascontiguousarray(feature_times[v], dtype=np.float64).tobytes())
    return h.hexdigest()[:24]


def cached_windows(segments: pd.DataFrame, durations: Mapping[str, float],
                   feature_times: Mapping[str, np.ndarray], spec: WindowSpec, cache_dir: str | Path | None,
                   write: bool = True) -> Windows:
    """``build_windows``, memoised on disk under ``cache_dir`` by content hash (no pickles); ``write=False`` only
    reads the cache (DDP ranks other than 0)."""
    if cache_dir is None:
        return build_windows(segments, durations, feature_times, spec)
    if write:
        remove_stale_tmp(cache_dir)
    path = Path(cache_dir) / f"windows-{content_hash(segments, durations, feature_times, spec)}.npz"
    if path.is_file():
        cached = _read_cache(path)
        if cached is not None:
            return cached
    windows = build_windows(segments, durations, feature_times, spec)
    if not write:
        return windows

    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **{f.name: getattr(windows, f.name) for f in fields(Windows)})
    write_atomic(path, _write)
    return windows


def _read_cache(path: Path) -> Windows | None:
    """The cached windows, or None (with a warning) when the file is truncated, garbage or of another layout."""
    try:
        with np.load(path, allow_pickle=False) as data:
            windows = Windows(**{f.name: (float(data[f.name]) if f.name == "size" else data[f.name])
                                 for f in fields(Windows)})
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("window cache %s is unreadable (%s: %s); rebuilding it", path, type(exc).__name__, exc)
        return None
    w = len(windows.start)
    consistent = (len(windows.video_ids) == w == len(windows.stop) == len(windows.feat_idx) and
                  len(windows.query_ptr) == w + 1 and windows.query_ptr[-1] == len(windows.query_row) ==
                  len(windows.query_start) == len(windows.query_stop))
    if not consistent:
        log.warning("window cache %s holds arrays of inconsistent lengths; rebuilding it", path)
        return None
    return windows


def remove_stale_tmp(cache_dir: str | Path, max_age: float = STALE_TMP_SECONDS) -> list[Path]:
    """Delete window-cache temp files (``.windows-*.tmp``) older than ``max_age`` s: writes killed mid-way
    leave them; a younger one may belong to a write still running. Returns what was removed."""
    removed = remove_orphaned_tmp(cache_dir, max_age, pattern=".windows-*.tmp")
    if removed:
        log.warning("removed %d temp files left by interrupted window-cache writes in %s", len(removed), cache_dir)
    return removed
