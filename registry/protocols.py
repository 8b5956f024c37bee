"""The Protocols of the parts a plugin may provide besides datasets and feature readers (docs/writing-plugins.md 6)."""
from __future__ import annotations

import argparse
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from .contracts import SplitAnnotations, VideoFeatures
from .predictions import Predictions


@dataclass(frozen=True)
class StreamBest:
    """One best checkpoint: picked by the maximum of ``metric``; reports the metrics matching ``reports``."""

    name: str
    metric: str
    reports: tuple[str, ...]

    def owns(self, metric: str) -> bool:
        """Whether the original reports ``metric`` from this checkpoint."""
        return any(fnmatch.fnmatchcase(metric, p) for p in self.reports)


@runtime_checkable
class Metric(Protocol):
    """What a METRICS entry (built as ``cls(**cfg)``) provides: metric name -> value (higher is better) for one
    split's predictions; ``main_metric`` names the value that selects checkpoints. ``stream_bests``, the per-stream
    best checkpoints the original TIM keeps (a tuple of ``StreamBest``), is optional, read as ``()`` when absent,
    and so not a member."""

    main_metric: str

    def __call__(self, predictions: Predictions, annotations: SplitAnnotations) -> dict[str, float]: ...


@runtime_checkable
class SubmissionWriter(Protocol):
    """What a WRITERS entry (built as ``cls(data_root=..., **cfg)``) provides: write one split's ``predictions`` to
    ``out`` atomically, refusing to overwrite without ``force``; returns the file written."""

    def __call__(self, predictions: Predictions, out: str | Path, force: bool = False) -> Path: ...


@runtime_checkable
class FeatureExtractor(Protocol):
    """What an EXTRACTORS entry provides (``tim-bench extract-features``): features of one raw input (a file or a
    folder) of one stream, in memory."""

    stream: str
    dim: int

    def extract(self, media: Path) -> VideoFeatures: ...


@runtime_checkable
class SyntheticGenerator(Protocol):
    """What a GENERATORS entry (``tim-bench make-synthetic NAME OUT``) provides: class attributes and static
    methods, used on the class (never built). ``add_arguments`` declares its options (the first positional is the
    output folder, ``out``); ``run`` writes the dataset's on-disk format with a learnable planted signal, marked
    with ``tim_bench_registry.synthetic.write_marker``, and returns an exit code."""

    description: str

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None: ...

    @staticmethod
    def run(args: argparse.Namespace) -> int: ...


@runtime_checkable
class ChallengeScorer(Protocol):
    """How `tim-bench evaluate` scores one challenge: ``add_arguments`` declares its own options; it is built with
    the parsed options (its own included), reads the labels, says which segments must be present and scores."""

    def __init__(self, options: argparse.Namespace) -> None: ...

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None: ...

    def labels(self, id_column: str, name: str) -> pd.DataFrame: ...

    def required(self, labels: pd.DataFrame) -> pd.Index: ...

    def __call__(self, scores: Mapping[str, np.ndarray], rows: pd.DataFrame) -> dict[str, float]: ...


@runtime_checkable
class Challenge(Protocol):
    """What a CHALLENGES entry provides: a submission file format that `tim-bench submit` writes with its
    ``writer`` (a WRITERS entry) and `tim-bench evaluate` reads (``read``) and scores (``scorer``, None: it cannot).

    ``read`` returns ``{"ids": [N] segment ids, <score block>: [N, C] scores ...}``, refusing a file of another
    challenge or one its server would refuse (a ``DataError`` naming the file); ``max_mib`` caps the size it reads
    (None: the challenge's default). ``id_column`` names the segment ids' column in its labels file;
    ``has_t_mod``: its submission records the training modality (``submit --t-mod``). Its data members are read-only
    (a frozen dataclass follows them).
    """

    @property
    def name(self) -> str: ...

    @property
    def writer(self) -> str: ...

    @property
    def id_column(self) -> str: ...

    @property
    def has_t_mod(self) -> bool: ...

    @property
    def scorer(self) -> type[ChallengeScorer] | None: ...

    def read(self, path: Path, max_mib: int | None = None) -> Mapping[str, np.ndarray]: ...
