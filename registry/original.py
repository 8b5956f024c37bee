"""What a benchmark plugin tells the engine's original-TIM adapters (``from-tim-args``, ``make-synthetic --layout
original``) about one ``--dataset`` of the original TIM, registered in ``ORIGINAL_DATASETS`` (docs/original-tim.md)."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .contracts import Task

#: the original's annotation files of one stream (split -> file, relative to the data_root) and its video-info
#: file -> the DATASETS config reading them
Reader = Callable[[Mapping[str, str], str], dict[str, Any]]


@dataclass(frozen=True)
class StreamFiles:
    """One stream's files in the original layout and where its labels come from."""

    features: str      # folder holding <split>/<video_id>.npy
    annotations: str   # annotation pickle, with {split}
    intervals: str     # feature-interval pickle, with {split}
    task: str          # tim-bench task key whose labels fill ``label``
    label: str         # the label column the original reads for this stream
    official: Mapping[str, tuple[str, str]] | None = None  # split -> (official table, its id column) to keep


@dataclass(frozen=True)
class OriginalDataset:
    """One ``--dataset`` of the original TIM: what a converted command reads and how its files are named.

    ``tasks`` lists per stream the heads the original builds, the one it calls ``action`` last (more than one
    visual task means the original's verb and noun heads). A stream without a ``readers`` entry is read with
    the engine's ``OriginalTIMAnnotations`` (one task per stream, labels from ``streams[stream].label``).
    ``refusals`` gets the original's parsed flags by name and returns what tim-bench cannot convert for this
    dataset, one phrase each.
    """

    name: str                                   # the original's --dataset value
    tasks: Mapping[str, tuple[Task, ...]]       # stream -> the heads the original builds
    metric: str                                 # METRICS entry that scores a converted run
    main_metric: Mapping[str, str]              # stream -> main metric when it is the first stream the data has
    generator: str                              # GENERATORS entry whose output --layout original converts
    datasets: Sequence[Mapping[str, Any]]       # DATASETS configs reading that generator's official layout
    features: Mapping[str, Mapping[str, Any]]   # FEATURES config per stream on the official layout
    streams: Mapping[str, StreamFiles]          # the original layout's files per stream
    video_info: str                             # the original's video-info pickle
    readers: Mapping[str, Reader] = field(default_factory=dict)  # stream -> its annotation reader's config
    eval_reads_train: tuple[str, ...] = ()      # streams whose --validate/--extract_feats also read train labels
    refusals: Callable[[Mapping[str, Any]], list[str]] | None = None
    unconvertible_options: Mapping[str, str] = field(default_factory=dict)  # generator option -> why refused
    checkpoint_hints: Mapping[str, str] = field(default_factory=dict)  # task key -> advice on a class mismatch
    default: bool = False                       # the original parser's default --dataset
    #: the original README's training flags for this --dataset besides --train, --output_dir, --dataset, the
    #: files and the input widths (``make-synthetic --layout original`` prints them in its command)
    recipe: tuple[str, ...] = ()
