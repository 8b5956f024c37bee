"""Check a config's annotations and features before a long run, and report every problem at once.

Per split: segment and video counts, label counts per task and class, and every rule of the data
contract (``data.rules``) that ``run`` enforces: the annotations' own checks, a
labelled training split that shares no video or segment with val/test, segments no window queries,
videos whose features are missing or unreadable, feature times that do not increase or do not cover
their video, streams on different time grids, feature widths that disagree with the config (or are
not the 7x7 maps AVGA pools), and NaN or inf values (read in slices, so lazy ``h5py.Dataset`` values
work too). Training would stop at the first of these, possibly hours in; this finds them all up front. Legal but
suspicious content (``data.suspicious``: segments shorter than a feature step or past their video's end, repeated
feature rows) is reported as warnings.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from tim_bench_registry import IGNORE_LABEL, DataError, DatasetPlugin, FeatureSource, SplitAnnotations, Task, VideoFeatures

from .checked import load_annotations, open_features
from .grid import common_grid
from .rules import layout_problem, pooling_of
from .suspicious import split_warnings
from .windows import WindowSpec, build_windows


class AssembledData(Protocol):
    """What the checks read of an assembled experiment (the runner's ``Experiment``): data/ stays below the runner."""

    cfg: Any
    plugin: DatasetPlugin
    dataset_name: str
    data_root: Any
    spec: WindowSpec
    tasks: tuple[Task, ...]

    @property
    def sources(self) -> Mapping[str, FeatureSource]: ...  # read only, so a dict of them fits

#: Feature rows read at a time by the NaN scan (a few MB even for 7x7x512 maps).
SCAN_ROWS = 256
_SHOWN = 5


@dataclass
class CheckReport:
    """What ``check_data`` found: report lines, problems (one sentence each), label counts per task."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: legal but suspicious content (``data.suspicious``): printed, the exit status stays 0
    warnings: list[str] = field(default_factory=list)
    #: task key -> DataFrame of segment counts, one row per class id and one column per split
    class_counts: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.problems


def _first(items: Iterable[str]) -> str:
    items = list(items)
    return ", ".join(items[:_SHOWN]) + (", ..." if len(items) > _SHOWN else "")


def label_counts(ann: SplitAnnotations, task: Task) -> pd.Series:
    """Segments per class id of ``task`` (every id 0..C-1, zeros included)."""
    labels = ann.segments.loc[ann.segments["stream"] == task.stream, task.key].to_numpy()
    labels = labels[labels != IGNORE_LABEL]
    return pd.Series(np.bincount(labels.astype(np.int64), minlength=task.num_classes)[:task.num_classes],
                     name=task.key)


def _task_line(task: Task, counts: pd.Series, unlabelled: int) -> str:
    present = counts[counts > 0]
    if present.empty:
        return f"  {task.key}: no labelled segments ({unlabelled} unlabelled)"
    absent = counts.index[counts == 0].astype(str)
    line = (f"  {task.key}: {len(present)} of {task.num_classes} classes present; segments per present class "
            f"min {present.min()} (class {present.idxmin()}), median {int(present.median())}, max {present.max()}")
    if len(absent):
        line += f"; absent: {_first(absent)}"
    return line + (f"; {unlabelled} unlabelled" if unlabelled else "")


class _FeatureCheck:
    """The feature problems of one stream in one split, gathered over its videos."""

    def __init__(self, stream: str, source: FeatureSource, config_dim: int | None, pool: bool | None,
                 tolerance: float, nan_scan: bool) -> None:
        self.stream, self.source, self.config_dim = stream, source, config_dim
        self.pool, self.tolerance, self.nan_scan = pool, tolerance, nan_scan  # pool: None for a model not TIM
        self.unreadable: dict[str, str] = {}
        self.short: list[str] = []
        self.wrong_dim: list[str] = []
        self.wrong_layout: list[str] = []
        self.layout_problem: str | None = None  # the first video's
        self.non_finite: list[str] = []
        self.times: dict[str, np.ndarray] = {}

    def video(self, split: str, video_id: str, duration: float) -> None:
        try:
            vf = open_features(self.source, split, video_id, self.stream)  # widths are gathered below
        except (DataError, OSError, ValueError) as exc:
            self.unreadable[video_id] = str(exc)
            return
        times = np.asarray(vf.times, dtype=np.float64)
        self.times[video_id] = times
        if len(times) == 0 or times[0, 0] > self.tolerance or times[:, 1].max() < duration - self.tolerance:
            span = f"[{times[0, 0]:.2f}, {times[:, 1].max():.2f}]" if len(times) else "nothing"
            self.short.append(f"{video_id} ({span} of {duration:.2f} s)")
        shape = tuple(vf.values.shape)
        label = vf.source or video_id  # what the plugin read the video from, when it says
        if self.config_dim is not None and shape[-1] != self.config_dim:
            self.wrong_dim.append(f"{label} ({shape[-1]}-d)")
        problem = None if self.pool is None else layout_problem(shape, self.stream, self.pool)
        if problem:
            self.wrong_layout.append(video_id)
            self.layout_problem = self.layout_problem or problem
        if self.nan_scan:
            self._scan(vf, label, shape[0])

    def _scan(self, vf: VideoFeatures, label: str, rows: int) -> None:
        """Read the values in contiguous slices (a lazy h5py.Dataset reads each slice once) looking for NaN/inf;
        ``label`` names the video (and its file) in the report."""
        try:
            finite = all(np.isfinite(np.asarray(vf.values[i:i + SCAN_ROWS], dtype=np.float32)).all()
                         for i in range(0, rows, SCAN_ROWS))
        except (OSError, ValueError, TypeError) as exc:
            self.unreadable[label] = f"its feature values cannot be read ({exc})"
            return
        if not finite:
            self.non_finite.append(label)

    def problems(self, split: str, videos: int) -> list[str]:
        s, out = self.stream, []
        if self.unreadable:
            example = next(iter(self.unreadable.values()))
            out.append(f"{split}: the {s} features of {len(self.unreadable)} of {videos} videos cannot be used "
                       f"({_first(self.unreadable)}); for example: {example}")
        if self.short:
            out.append(f"{split}: the {s} feature times of {len(self.short)} videos do not cover the video within "
                       f"{self.tolerance:g} s ({_first(self.short)}); re-extract them or fix the interval table.")
        if self.wrong_dim:
            out.append(f"{split}: {len(self.wrong_dim)} videos hold {s} features of another width than the "
                       f"config's {self.config_dim} ({_first(self.wrong_dim)}); fix features.{s}.dim or the files.")
        if self.wrong_layout:
            out.append(f"{split}: {len(self.wrong_layout)} videos ({_first(self.wrong_layout)}) hold {s} features "
                       f"the model cannot read; for example: {self.layout_problem}.")
        if self.non_finite:
            out.append(f"{split}: {len(self.non_finite)} videos hold NaN or inf {s} features "
                       f"({_first(self.non_finite)}); re-extract them.")
        return out

    def summary(self, videos: int) -> str:
        return f"{self.stream} {videos - len(self.unreadable)}/{videos} videos ({self.source.dim}-d)"


def _windows_line(ann: SplitAnnotations, times: Mapping[str, np.ndarray], spec: WindowSpec, split: str,
                  report: CheckReport) -> str:
    """Build the split's windows; videos without readable features get one covering interval so that the
    coverage check still runs (their missing features are reported on their own)."""
    grid = {v: times.get(v, np.array([[0.0, d]])) for v, d in ann.durations.items()}
    try:
        windows = build_windows(ann.segments, ann.durations, grid, spec)
    except DataError as exc:
        report.problems.append(f"{split}: {exc}")
        return "windows: could not be built"
    return f"{len(windows)} windows of {spec.size:g} s"


def _grid_problems(checks: list[_FeatureCheck], split: str) -> list[str]:
    """Videos whose streams' feature grids differ (run reads every stream at the first stream's rows)."""
    if len(checks) < 2:
        return []
    bad: list[str] = []
    for video in checks[0].times:
        grids = {c.stream: c.times[video] for c in checks if video in c.times}
        try:
            common_grid(grids, video)
        except DataError as exc:
            bad.append(str(exc))
    if not bad:
        return []
    return [f"{split}: {len(bad)} videos have streams on different time grids; for example: {bad[0]}"]


def check_split(exp: AssembledData, split: str, report: CheckReport, tolerance: float, nan_scan: bool,
                training: bool = False) -> SplitAnnotations | None:
    """Add one split's counts and problems to ``report``; the split's annotations, or None if unusable."""
    try:
        ann = load_annotations(exp.plugin, split, exp.dataset_name, training=training)
    except DataError as exc:
        report.lines.append(f"split {split}: annotations unusable")
        report.problems.append(f"{split}: {exc}")
        return None
    seg = ann.segments
    streams = ", ".join(f"{s} {n}" for s, n in seg["stream"].value_counts(sort=False).items())
    annotated = set(seg["video_id"])
    videos = [v for v in ann.durations if v in annotated]
    cfg = exp.cfg
    checks = [_FeatureCheck(s, src, (cfg.features[s] or {}).get("dim"),
                            pooling_of(cfg.model), tolerance, nan_scan)
              for s, src in exp.sources.items()]
    for check in checks:
        for video in videos:
            check.video(split, video, ann.durations[video])
        report.problems += check.problems(split, len(videos))
    report.problems += _grid_problems(checks, split)
    anchor = checks[0].times if checks else {}
    windows = _windows_line(ann, anchor, exp.spec, split, report)
    report.warnings += split_warnings(split, ann, anchor, tolerance, coverage=False)  # short coverage: a problem
    report.lines.append(f"split {split}: {len(seg)} segments ({streams}) in {len(videos)} videos; {windows}")
    for task in exp.tasks:
        counts = label_counts(ann, task)
        unlabelled = int((seg.loc[seg["stream"] == task.stream, task.key] == IGNORE_LABEL).sum())
        report.lines.append(_task_line(task, counts, unlabelled))
        table = report.class_counts.setdefault(task.key, pd.DataFrame(index=pd.RangeIndex(task.num_classes,
                                                                                          name="class")))
        table[split] = counts.to_numpy()
    if checks:
        report.lines.append("  features: " + ", ".join(c.summary(len(videos)) for c in checks))
    return ann
