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

An **extractor plugin** (also in ``FEATURES``; run by ``tim-bench extract-features``) is built as
``cls(**cfg)`` and turns one raw input (a file or a folder) into features in memory::

    extractor.stream -> str                          # "visual" | "audio"
    extractor.dim -> int                             # D
    extractor.extract(media: Path) -> VideoFeatures  # times [T, 2] seconds, values ndarray [T, A, D]

A **head plugin** (registered in ``HEADS``) is an ``nn.Module`` built as
``cls(in_dim=..., num_classes=..., **cfg)`` mapping query tokens ``[..., in_dim]`` to logits.
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
SEGMENT_COLUMNS: tuple[str, ...] = ("segment_id", "video_id", "start", "stop", "stream")


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

    def validate(self, source: str) -> None:
        """Raise DataError naming ``source`` and the first bad row if the table breaks the contract."""
        seg = self.segments
        missing = [c for c in SEGMENT_COLUMNS + tuple(t.key for t in self.tasks) if c not in seg.columns]
        if missing:
            raise DataError(f"{source}: segments table lacks columns {missing}.")
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


@dataclass(frozen=True)
class VideoFeatures:
    """The features of one video in one stream.

    ``times`` is ``[T, 2]`` float (start, stop) seconds, sorted by start. ``values`` is array-like
    (numpy memmap or a lazily read HDF5 row) of shape ``[T, A, D]`` or ``[T, A, H, W, D]`` where A
    counts stored augmentation copies; indexing it must read only the rows asked for.
    """

    times: np.ndarray
    values: Any


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
