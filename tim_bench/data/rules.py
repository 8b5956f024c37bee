"""The data rules of the plugin contract (docs/writing-plugins.md, section 1), checked by the engine on what dataset
and feature plugins return: a break is a DataError naming the plugin's ``source`` (file and row) and the fix."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tim_bench_registry import IGNORE_LABEL, MODELS, STREAMS, DataError, SplitAnnotations, VideoFeatures, lookup

_SEGMENT_COLUMNS: tuple[str, ...] = ("segment_id", "video_id", "start", "stop", "stream")
#: Seconds a labelled segment may end after its video's end (timestamp and duration rounding; the official
#: EPIC-Sounds validation file runs up to 0.28 s past); beyond it, a segment lying mostly outside is refused.
STOP_TOLERANCE = 1.0
_SHOWN = 5


def check_annotations(ann: SplitAnnotations, source: str, training: bool = False) -> None:
    """Raise DataError naming ``source`` and the first bad row if the split breaks the rules; with ``training``
    also if a task has no labelled segment (a split used for training must be labelled)."""
    _check_table(ann, source)
    _check_times(ann, source)
    _check_labels(ann, source, training)


def _check_table(ann: SplitAnnotations, source: str) -> None:
    """The columns, ids, streams and durations of the segments table."""
    seg = ann.segments
    missing = [c for c in _SEGMENT_COLUMNS + tuple(t.key for t in ann.tasks) if c not in seg.columns]
    if missing:
        raise DataError(f"{source}: segments table lacks columns {missing}.")
    if seg.empty:
        raise DataError(f"{source} holds no segments (an empty or header-only file, or an empty split list); "
                        f"give the split's annotation file with its rows, or drop the split from the config's "
                        f"splits.")
    for column in ("segment_id", "video_id"):
        empty = (seg[column].isna() | (seg[column].astype(str).str.strip() == "")).to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise DataError(f"{source}: row {i + 1} of the segments table has no {column}; every segment "
                            f"needs one.")
    bad_duration = [v for v, d in ann.durations.items() if not (np.isfinite(d) and d > 0)]
    if bad_duration:
        v = bad_duration[0]
        raise DataError(f"{source}: video {v} has duration {ann.durations[v]}; a duration must be a number of "
                        f"seconds above 0: fix the video info.")
    bad_stream = ~seg["stream"].isin(STREAMS)
    if bad_stream.any():
        row = seg[bad_stream].iloc[0]
        raise DataError(f"{source}: segment {row.segment_id} has stream '{row.stream}'; use one of {STREAMS}.")
    dup = seg.duplicated(["stream", "segment_id"])
    if dup.any():
        row = seg[dup].iloc[0]
        raise DataError(f"{source}: segment id {row.segment_id} appears twice in the {row.stream} stream.")
    unknown_video = ~seg["video_id"].isin(list(ann.durations))
    if unknown_video.any():
        row = seg[unknown_video].iloc[0]
        raise DataError(f"{source}: segment {row.segment_id} is in video {row.video_id}, which has no duration; "
                        f"add it to the video info.")


def _check_times(ann: SplitAnnotations, source: str) -> None:
    """``0 <= start < stop``, finite, ``start`` before the video's end, and no labelled segment mostly past it."""
    seg = ann.segments
    start, stop = seg["start"].to_numpy(float), seg["stop"].to_numpy(float)
    bad_time = ~(np.isfinite(start) & np.isfinite(stop) & (start >= 0) & (stop > start))
    if bad_time.any():
        row = seg[bad_time].iloc[0]
        raise DataError(f"{source}: segment {row.segment_id} of video {row.video_id} has start {row.start} and "
                        f"stop {row.stop}; a segment needs 0 <= start < stop.")
    duration = seg["video_id"].map(ann.durations).to_numpy(float)
    outside = start >= duration
    if outside.any():
        row = seg[outside].iloc[0]
        raise DataError(f"{source}: segment {row.segment_id} starts at {row.start} s, after the end of video "
                        f"{row.video_id} ({ann.durations[row.video_id]} s); fix its timestamps or the video info.")
    _check_labelled_overrun(ann, source, start, stop, duration)


def _check_labelled_overrun(ann: SplitAnnotations, source: str, start: np.ndarray, stop: np.ndarray,
                            duration: np.ndarray) -> None:
    """A labelled segment ending over ``STOP_TOLERANCE`` s past its video's end, mostly outside the video, is
    an error (wrong timestamps or video info); unlabelled ones (challenge test timestamps) are only clipped."""
    seg = ann.segments
    keys = [t.key for t in ann.tasks]
    labelled = (seg[keys].to_numpy() != IGNORE_LABEL).any(1) if keys else np.zeros(len(seg), bool)
    past = labelled & (stop > duration + STOP_TOLERANCE) & (stop - duration > (stop - start) / 2)
    if past.any():
        i = int(np.flatnonzero(past)[0])
        row = seg.iloc[i]
        raise DataError(f"{source}: labelled segment {row.segment_id} of video {row.video_id} runs "
                        f"[{start[i]:g}, {stop[i]:g}] s, but the video lasts {duration[i]:g} s ({int(past.sum())} "
                        f"such segments); fix its timestamps or the video's duration.")


def _check_labels(ann: SplitAnnotations, source: str, training: bool) -> None:
    """Integer class ids in ``0..num_classes-1`` or ``IGNORE_LABEL``; with ``training`` at least one per task."""
    seg = ann.segments
    for task in ann.tasks:
        if not pd.api.types.is_integer_dtype(seg[task.key]):
            raise DataError(f"{source}: labels of task {task.key} have dtype {seg[task.key].dtype}; they must be "
                            f"integer class ids, with {IGNORE_LABEL} for rows without a label.")
        labels = seg[task.key].to_numpy()
        bad = (labels != IGNORE_LABEL) & ((labels < 0) | (labels >= task.num_classes))
        if bad.any():
            row = seg[bad].iloc[0]
            raise DataError(f"{source}: segment {row.segment_id} has {task.key} label {row[task.key]}, outside "
                            f"0..{task.num_classes - 1}; fix the annotation or the class list.")
    if training:
        for task in ann.tasks:
            if not (seg.loc[seg["stream"] == task.stream, task.key] != IGNORE_LABEL).any():
                raise DataError(f"{source} is used for training, but none of its segments has a {task.key} "
                                f"label; a training split must be labelled: give the annotation file with its "
                                f"class column.")


def check_features(features: VideoFeatures, where: str, dim: int | None = None) -> None:
    """Raise DataError naming ``where`` (file and video) if the times or the shape break the rules: times
    ``[T, 2]``, ``T >= 1``, finite, each ``start <= stop``, starts and stops non-decreasing; values ``[T, A, D]``
    or ``[T, A, H, W, D]`` with ``dim`` (when given) as their last axis."""
    times = np.asarray(features.times)
    if times.ndim != 2 or times.shape[1] != 2 or len(times) == 0:
        raise DataError(f"{where}: feature times have shape {times.shape}; expected [T, 2] with T >= 1.")
    if not np.issubdtype(times.dtype, np.number) or not np.isfinite(times).all():
        raise DataError(f"{where}: feature times hold NaN, inf or non-numbers; fix the interval table.")
    problems = [(times[:, 1] < times[:, 0], "stops before it starts"),
                (np.r_[False, np.diff(times[:, 0]) < 0], "starts before the feature above it"),
                (np.r_[False, np.diff(times[:, 1]) < 0], "stops before the feature above it")]
    for bad, what in problems:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{where}: feature {i} [{times[i, 0]:g}, {times[i, 1]:g}] s {what}; feature times "
                            f"must increase: fix the interval table or re-extract.")
    shape = tuple(getattr(features.values, "shape", ()))
    if len(shape) not in (3, 5):
        raise DataError(f"{where}: feature values have shape {shape}; expected [T, A, D] or [T, A, H, W, D].")
    if shape[0] != len(times):
        raise DataError(f"{where}: {shape[0]} feature rows but {len(times)} feature times; regenerate one of "
                        f"them.")
    if dim is not None and shape[-1] != dim:
        raise DataError(f"{where}: {shape[-1]}-d features but this stream is configured as {dim}-d; fix the "
                        f"config's dim or the file.")


def same_segments(a: SplitAnnotations, b: SplitAnnotations) -> bool:
    """Whether two splits hold exactly the same segments (by stream and id) of the same videos."""
    def keys(x: SplitAnnotations) -> set:
        seg = x.segments
        return set(zip(seg["stream"], seg["segment_id"].astype(str), seg["video_id"].astype(str)))
    return len(a.segments) == len(b.segments) and keys(a) == keys(b)


def is_training_data(train: Sequence[SplitAnnotations], other: Sequence[SplitAnnotations]) -> bool:
    """Whether an evaluation split is the training data itself (scored for fit: the caller warns and marks the
    run), not a leak: part by part the same segments, read from the same ``source`` (two files with the same rows
    are a leak). Each split is given as the parts its plugins read (one, or one per dataset of a joint run)."""
    return len(train) == len(other) and all(same_segments(t, o) and t.source == o.source
                                            for t, o in zip(train, other))


def check_disjoint(train: Sequence[SplitAnnotations], other: Sequence[SplitAnnotations], train_name: str,
                   other_name: str) -> None:
    """Raise DataError if a training split and an evaluation split share videos or segments (a leak that inflates
    every score), naming both and a few shared ids. Each is given as the parts its plugins read (one part, or one
    per dataset of a joint run), so the message names the parts' files (``source``), else ``train_name`` and
    ``other_name``."""
    pairs = sorted(((i, j) for i in range(len(train)) for j in range(len(other))), key=lambda p: p[0] != p[1])
    for i, j in pairs:  # each dataset's own splits first, so a leak inside one file pair is named as such
        _check_pair(train[i], other[j], train[i].source or train_name, other[j].source or other_name)


def _check_pair(train: SplitAnnotations, other: SplitAnnotations, train_source: str, other_source: str) -> None:
    shared_videos = sorted(set(train.segments["video_id"].astype(str)) & set(other.segments["video_id"].astype(str)))
    if shared_videos:
        raise DataError(f"{train_source} (training) and {other_source} share {len(shared_videos)} videos "
                        f"({', '.join(shared_videos[:_SHOWN])}); a video must be in one split only: fix the split "
                        f"files.")
    keys = [set(zip(a.segments["stream"], a.segments["segment_id"].astype(str))) for a in (train, other)]
    shared = sorted(keys[0] & keys[1])
    if shared:
        raise DataError(f"{train_source} (training) and {other_source} share {len(shared)} segments "
                        f"({', '.join(f'{s} {i}' for s, i in shared[:_SHOWN])}); a segment must be in one split "
                        f"only: fix the split files.")


#: the [H, W] of the visual maps a TIM that pools features (AVGA) reads
POOLED_MAP = (7, 7)


def layout_problem(shape: tuple[int, ...], stream: str, pool: bool) -> str | None:
    """Why feature values of ``shape`` cannot feed the ``stream`` input of a TIM with ``model.pool_features=pool``
    (maps [T, A, H, W, D] need pooling, vectors [T, A, D] must not get it); None when they can."""
    maps = len(shape) == 5
    if stream == "visual" and pool and (not maps or tuple(shape[2:4]) != POOLED_MAP):
        return (f"model.pool_features=True (AVGA) pools [T, A, 7, 7, D] visual maps, but these features have shape "
                f"{shape}; set model.pool_features=False or point features.visual at 7x7 maps")
    if maps and stream != "visual":
        return (f"{stream} features of shape {shape} are [T, A, H, W, D] maps, which only the visual stream can "
                f"pool; point features.{stream} at [T, A, D] vectors")
    if maps and not pool:
        return (f"visual features of shape {shape} are [T, A, H, W, D] maps, but model.pool_features is False and "
                f"TIM reads [T, A, D] vectors; set model.pool_features=True (AVGA pooling of 7x7 maps, guided by the "
                f"audio features) or point features.visual at [T, A, D] vectors")
    return None


def pooling_of(model: Mapping[str, Any]) -> bool | None:
    """``model.pool_features`` of a TIM model config; None for another model type (it reads its inputs its own way)."""
    if lookup(MODELS, str(model.get("type", "TIM"))).__name__ != "TIM":
        return None
    return bool(model.get("pool_features"))
