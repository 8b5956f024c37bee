"""What a dataset plugin and a feature plugin hand to the engine: the whole contract.

A **dataset plugin** (registered in ``DATASETS``) is built as ``cls(data_root=..., **cfg)`` and
answers three questions::

    plugin.splits() -> tuple[str, ...]              # e.g. ("train", "val", "test")
    plugin.tasks() -> tuple[Task, ...]              # what each stream is labelled with
    plugin.load(split) -> SplitAnnotations          # the labelled segments of one split

A **feature plugin** (registered in ``FEATURES``) is built as ``cls(data_root=..., **cfg)``, one
per stream, and opens one video at a time without reading it whole::

    source.dim -> int                                # D, the last axis of values
    source.open(split, video_id) -> VideoFeatures    # times [T, 2] seconds, values memory-mapped

An **extractor plugin** (in ``EXTRACTORS``; run by ``tim-bench extract-features``) is built as
``cls(**cfg)`` and turns one raw input (a file or a folder) into features in memory::

    extractor.stream -> str                          # "visual" | "audio"
    extractor.dim -> int                             # D
    extractor.extract(media: Path) -> VideoFeatures  # times [T, 2] seconds, values ndarray [T, A, D]

A **head plugin** (registered in ``HEADS``) is an ``nn.Module`` built as
``cls(in_dim=..., num_classes=..., **cfg)`` mapping query tokens ``[..., in_dim]`` to logits.

**The rules.** ``tim-bench run`` refuses, before training, data that breaks any of these, and
``tim-bench check-data`` reports every break at once (both run the same checks below):

* Annotations (``SplitAnnotations.validate``): the columns above; streams in ``STREAMS``; every
  ``segment_id`` and ``video_id`` present and non-empty, segment ids unique within a stream; every
  video has a finite duration above 0; at least one segment; ``0 <= start < stop``, finite, and ``start``
  before the video's end (``stop`` may run past it: windows clip it, as the official EPIC-Sounds test
  timestamps need, but a *labelled* segment that ends over ``STOP_TOLERANCE`` s past the end and lies
  mostly outside its video is refused: its label describes time the video does not have);
  labels integer class ids in ``0..num_classes-1`` or ``IGNORE_LABEL``.
* A split used for training has at least one label for every task (``validate(..., training=True)``);
  a split used for training and one used for evaluation share no video and no segment
  (``check_disjoint``).
* Features (``VideoFeatures.validate``): ``times`` is ``[T, 2]`` with ``T >= 1``, finite,
  ``start <= stop``, starts and stops non-decreasing; ``values`` has ``T`` rows, 3 or 5 axes and the
  source's ``dim`` as its last axis; every value is finite (NaN/inf are refused when read).
* Streams of one video are read at the same rows, so their feature grids agree in count and in
  times within 0.01 s (the engine checks: ``tim_bench.data.grid``).
* Every labelled segment is queried by at least one window (the window builder checks).
* A dataset plugin names the file and row of a bad annotation (``tim_bench_registry.tables`` has
  helpers); a feature plugin refuses ids that would leave its folder before opening anything
  (``tim_bench_registry.paths.safe_join``) and turns unreadable files into a ``DataError`` naming them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from .errors import DataError

STREAMS: tuple[str, ...] = ("visual", "audio")
#: Label value for "no label in this task" (the other stream's rows, unlabelled test rows).
IGNORE_LABEL = -1
_SEGMENT_COLUMNS: tuple[str, ...] = ("segment_id", "video_id", "start", "stop", "stream")
#: Seconds a labelled segment may end after its video's end (timestamp and duration rounding; the official
#: EPIC-Sounds validation file runs up to 0.28 s past); beyond it, a segment lying mostly outside is refused.
STOP_TOLERANCE = 1.0
_SHOWN = 5


@dataclass(frozen=True, slots=True)
class Task:
    """One classification task of one stream, e.g. ``Task("visual", "verb", 97)``."""

    stream: str
    name: str
    num_classes: int
    class_names: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Column name of this task's labels in the segments table, e.g. ``visual_verb``."""
        return f"{self.stream}_{self.name}"


@dataclass(frozen=True)
class SplitAnnotations:
    """The labelled segments of one split.

    ``segments`` has one row per (stream, segment): ``segment_id`` (str, unique within its
    stream), ``video_id`` (str), ``start`` and ``stop`` (float seconds), ``stream``
    ("visual" | "audio") and one int column per task key holding the class id, or
    ``IGNORE_LABEL`` where the row has no label for that task. ``durations`` maps every
    video_id of the split to its length in seconds. ``extra`` carries dataset-specific
    metadata (e.g. participant ids) that metrics or writers may read.
    """

    segments: pd.DataFrame
    durations: dict[str, float]
    tasks: tuple[Task, ...]
    labelled: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self, source: str, training: bool = False) -> None:
        """Raise DataError naming ``source`` and the first bad row if the table breaks the contract; with
        ``training`` also if a task has no labelled segment (a split used for training must be labelled)."""
        seg = self.segments
        missing = [c for c in _SEGMENT_COLUMNS + tuple(t.key for t in self.tasks) if c not in seg.columns]
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
        bad_duration = [v for v, d in self.durations.items() if not (np.isfinite(d) and d > 0)]
        if bad_duration:
            v = bad_duration[0]
            raise DataError(f"{source}: video {v} has duration {self.durations[v]}; a duration must be a number of "
                            f"seconds above 0: fix the video info.")
        bad_stream = ~seg["stream"].isin(STREAMS)
        if bad_stream.any():
            row = seg[bad_stream].iloc[0]
            raise DataError(f"{source}: segment {row.segment_id} has stream '{row.stream}'; use one of {STREAMS}.")
        dup = seg.duplicated(["stream", "segment_id"])
        if dup.any():
            row = seg[dup].iloc[0]
            raise DataError(f"{source}: segment id {row.segment_id} appears twice in the {row.stream} stream.")
        unknown_video = ~seg["video_id"].isin(list(self.durations))
        if unknown_video.any():
            row = seg[unknown_video].iloc[0]
            raise DataError(f"{source}: segment {row.segment_id} is in video {row.video_id}, which has no duration; "
                            f"add it to the video info.")
        start, stop = seg["start"].to_numpy(float), seg["stop"].to_numpy(float)
        bad_time = ~(np.isfinite(start) & np.isfinite(stop) & (start >= 0) & (stop > start))
        if bad_time.any():
            row = seg[bad_time].iloc[0]
            raise DataError(f"{source}: segment {row.segment_id} of video {row.video_id} has start {row.start} and "
                            f"stop {row.stop}; a segment needs 0 <= start < stop.")
        duration = seg["video_id"].map(self.durations).to_numpy(float)
        outside = start >= duration
        if outside.any():
            row = seg[outside].iloc[0]
            raise DataError(f"{source}: segment {row.segment_id} starts at {row.start} s, after the end of video "
                            f"{row.video_id} ({self.durations[row.video_id]} s); fix its timestamps or the video info.")
        self._check_labelled_overrun(source, start, stop, duration)
        for task in self.tasks:
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
            for task in self.tasks:
                if not (seg.loc[seg["stream"] == task.stream, task.key] != IGNORE_LABEL).any():
                    raise DataError(f"{source} is used for training, but none of its segments has a {task.key} "
                                    f"label; a training split must be labelled: give the annotation file with its "
                                    f"class column.")

    def _check_labelled_overrun(self, source: str, start: np.ndarray, stop: np.ndarray, duration: np.ndarray) -> None:
        """A labelled segment ending over ``STOP_TOLERANCE`` s past its video's end, mostly outside the video, is
        an error (wrong timestamps or video info); unlabelled ones (challenge test timestamps) are only clipped."""
        seg = self.segments
        keys = [t.key for t in self.tasks]
        labelled = (seg[keys].to_numpy() != IGNORE_LABEL).any(1) if keys else np.zeros(len(seg), bool)
        past = labelled & (stop > duration + STOP_TOLERANCE) & (stop - duration > (stop - start) / 2)
        if past.any():
            i = int(np.flatnonzero(past)[0])
            row = seg.iloc[i]
            raise DataError(f"{source}: labelled segment {row.segment_id} of video {row.video_id} runs "
                            f"[{start[i]:g}, {stop[i]:g}] s, but the video lasts {duration[i]:g} s ({int(past.sum())} "
                            f"such segments); fix its timestamps or the video's duration.")


def check_disjoint(train: SplitAnnotations, other: SplitAnnotations, train_source: str, other_source: str) -> None:
    """Raise DataError if the training split and an evaluation split share videos or segments (a leak that
    inflates every score), naming both and a few shared ids. Two splits read from one file (the same
    ``train_source`` and ``other_source``) are the training data itself, not a leak: the engine warns about
    that and marks the run."""
    if train_source == other_source:
        return
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


@dataclass(frozen=True)
class VideoFeatures:
    """The features of one video in one stream.

    ``times`` is ``[T, 2]`` float (start, stop) seconds, starts and stops non-decreasing. ``values`` has
    shape ``[T, A, D]`` or ``[T, A, H, W, D]`` where A counts stored augmentation copies: a numpy array,
    a memmap or a lazily read ``h5py.Dataset``. The engine needs only ``.shape``, contiguous slices
    ``values[a:b]`` and ``np.asarray(values)``; it reads each video's values whole, once, in sorted
    order (check-data reads them in slices), so a lazy dataset is never indexed with a row list.
    """

    times: np.ndarray
    values: Any

    def validate(self, where: str, dim: int | None = None) -> None:
        """Raise DataError naming ``where`` (file and video) if the times or the shape break the contract."""
        times = np.asarray(self.times)
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
        shape = tuple(getattr(self.values, "shape", ()))
        if len(shape) not in (3, 5):
            raise DataError(f"{where}: feature values have shape {shape}; expected [T, A, D] or [T, A, H, W, D].")
        if shape[0] != len(times):
            raise DataError(f"{where}: {shape[0]} feature rows but {len(times)} feature times; regenerate one of "
                            f"them.")
        if dim is not None and shape[-1] != dim:
            raise DataError(f"{where}: {shape[-1]}-d features but this stream is configured as {dim}-d; fix the "
                            f"config's dim or the file.")


@runtime_checkable
class DatasetPlugin(Protocol):
    """What a DATASETS entry provides."""

    def splits(self) -> tuple[str, ...]: ...

    def tasks(self) -> tuple[Task, ...]: ...

    def load(self, split: str) -> SplitAnnotations: ...


@runtime_checkable
class FeatureSource(Protocol):
    """What a FEATURES entry provides, for one stream."""

    dim: int

    def open(self, split: str, video_id: str) -> VideoFeatures: ...
