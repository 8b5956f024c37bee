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

**The rules** that annotations and features must keep are listed in docs/writing-plugins.md (section 1). The
engine checks them on every split a dataset plugin loads and every video a feature plugin opens (its messages
name the ``source`` a plugin sets), so a plugin need not check them itself; ``validate`` and ``check_disjoint``
are retired since contract 1.2 and do nothing (``retired``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from .retired import warn_retired

STREAMS: tuple[str, ...] = ("visual", "audio")
#: Label value for "no label in this task" (the other stream's rows, unlabelled test rows).
IGNORE_LABEL = -1


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
    metadata (e.g. participant ids) that metrics or writers may read. ``source`` (since contract 1.2) says
    what the split was read from (its file), which the engine's messages name.
    """

    segments: pd.DataFrame
    durations: dict[str, float]
    tasks: tuple[Task, ...]
    labelled: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def validate(self, source: str, training: bool = False) -> None:
        """Retired in contract 1.2: does nothing (the engine checks every split it loads); set ``source``."""
        warn_retired("SplitAnnotations.validate", "the file the split was read from")


def check_disjoint(train: SplitAnnotations, other: SplitAnnotations, train_source: str, other_source: str) -> None:
    """Retired in contract 1.2: does nothing (the engine checks the training split against every evaluation split)."""
    warn_retired("check_disjoint", "each split's file")


@dataclass(frozen=True)
class VideoFeatures:
    """The features of one video in one stream.

    ``times`` is ``[T, 2]`` float (start, stop) seconds, starts and stops non-decreasing. ``values`` has
    shape ``[T, A, D]`` or ``[T, A, H, W, D]`` where A counts stored augmentation copies: a numpy array,
    a memmap or a lazily read ``h5py.Dataset``. The engine needs only ``.shape``, contiguous slices
    ``values[a:b]`` and ``np.asarray(values)``; it reads each video's values whole, once, in sorted
    order (check-data reads them in slices), so a lazy dataset is never indexed with a row list.
    ``source`` (since contract 1.2) says what the video was read from (file and row), which the engine's
    messages name.
    """

    times: np.ndarray
    values: Any
    source: str = ""

    def validate(self, where: str, dim: int | None = None) -> None:
        """Retired in contract 1.2: does nothing (the engine checks every video it opens); set ``source``."""
        warn_retired("VideoFeatures.validate", "the file and row of the video")


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
