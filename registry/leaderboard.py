"""What a benchmark contributes to leaderboards: its table spec, its published reference rows and table formats
(docs/writing-plugins.md 6)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .retired import retired_name


@dataclass(frozen=True)
class Chance:
    """How a metric's chance level follows from the class counts of one task of the scored split: top-``k``
    accuracy over segments, or (``per_class``) the mean over the classes present of each class's top-k recall.

    ``unlabelled_scored``: the metric scores the task's unlabelled segments too (as wrong, e.g. an EPIC action
    outside the action vocabulary), so the level divides by all the task's segments, as the metric does."""

    task: str
    k: int = 1
    per_class: bool = False
    unlabelled_scored: bool = False


@dataclass(frozen=True)
class LeaderboardSpec:
    """How one dataset (a dataset plugin type name, as in a run record) appears in leaderboards (higher is better
    for every metric).

    ``references`` names the datasets whose published reference rows apply to this one's table
    (by default the dataset itself); a joint dataset lists the benchmarks it covers. ``main_metric`` is the
    metric the paper's table leads with (default: the first of ``metrics``): the table's order and ``compare``
    use it, and the benchmark's evaluator selects checkpoints by it. ``chance`` says, per metric, how its
    majority-class and uniform-guess levels follow from the split's class counts (metrics without one get none).
    """

    name: str
    title: str
    metrics: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    references: tuple[str, ...] = ()
    main_metric: str = ""
    chance: Mapping[str, Chance] = field(default_factory=dict)

    @property
    def main(self) -> str | None:
        """The table's main metric: ``main_metric``, else the first metric (None for a spec without metrics)."""
        return self.main_metric or (self.metrics[0] if self.metrics else None)

    @property
    def reference_datasets(self) -> tuple[str, ...]:
        """Datasets whose reference rows are shown in (and give deltas to) this table."""
        return self.references or (self.name,)

    def label(self, metric: str) -> str:
        """Short column heading of ``metric`` (the metric name itself when none is registered)."""
        return self.labels.get(metric, metric)


if TYPE_CHECKING:  # the retired name, for type checkers; at run time ``__getattr__`` answers it with a warning
    DatasetSpec = LeaderboardSpec


def __getattr__(name: str) -> object:
    return retired_name(globals(), name)


@dataclass(frozen=True)
class LeaderboardFormat:
    """One way to print leaderboard tables: ``render(tables, folder) -> text`` (``folder``: where the output goes,
    for relative links) and its default output file (None: stdout)."""

    name: str
    render: Callable[[Any, Path], str]
    default_out: str | None
    description: str = ""


@dataclass(frozen=True)
class Reference:
    """One published row: a setting of a model on one dataset and the numbers reported for it."""

    id: str
    dataset: str
    split: str
    setting: str
    metrics: Mapping[str, float]
    source: str
    caveat: str
    default: bool
    tolerance: float
    notes: Mapping[str, str] = field(default_factory=dict)
    tolerance_note: str = ""
    #: the configs whose recipe is this row's setting; only their runs are compared with it (empty: any run)
    configs: tuple[str, ...] = ()
    #: what produced the numbers (a row of another model, or a computed baseline such as chance, names it)
    model: str = "TIM"

    @property
    def label(self) -> str:
        """How the row is named in a table: unmistakably published (or computed), not measured."""
        return f"[published] {self.model}, {self.setting}"
