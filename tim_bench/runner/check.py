"""`tim-bench check-data`: assemble a config's dataset and features, then run every check of ``data.check``."""
from __future__ import annotations

from collections.abc import Iterable

from mmengine.config import Config

from tim_bench_registry import DataError, SplitAnnotations, TimBenchError

from ..data.check import CheckReport, check_split
from ..data.checked import load_annotations
from ..data.joint import parts_of
from ..data.rules import check_disjoint, is_training_data
from .experiment import Experiment


def check_data(cfg: Config, splits: Iterable[str] | None = None, tolerance: float = 1.0,
               nan_scan: bool = True) -> CheckReport:
    """Check every split the config uses (or ``splits``) and return the report; nothing is written."""
    report = CheckReport()
    try:
        exp = Experiment(cfg, cache_dir=None)
    except TimBenchError as exc:
        report.problems.append(f"the config's dataset or features cannot be opened: {exc}")
        return report
    _check_run_settings(exp, report)
    wanted = list(splits) if splits is not None else \
        list(dict.fromkeys(s for s in (cfg.get("splits") or {}).values() if s))
    available = exp.plugin.splits()
    report.lines.append(f"{exp.dataset_name} under {exp.data_root}: splits {', '.join(available) or '(none)'}")
    train = (cfg.get("splits") or {}).get("train")
    loaded: dict[str, SplitAnnotations] = {}
    for split in wanted:
        if split not in available:
            report.problems.append(f"the config uses split '{split}', but {exp.dataset_name} under {exp.data_root} "
                                   f"has only {available}; add its files or change the config's splits.")
            continue
        ann = check_split(exp, split, report, tolerance, nan_scan, training=split == train)
        if ann is not None:
            loaded[split] = ann
    if train not in wanted or train in loaded:  # an unusable training split is a problem of its own already
        _check_leaks(exp, train, loaded, report)
    return report


def _check_run_settings(exp: Experiment, report: CheckReport) -> None:
    """What ``run`` stops or warns at besides the data: an evaluator that cannot be built (a metric breaking its
    Protocol), and an evaluation split that is the training split."""
    try:
        exp.build_metric()
    except TimBenchError as exc:
        report.problems.append(f"the config's evaluator cannot be built: {exc}")
    for role in exp.scored_on_training_data():
        report.warnings.append(f"splits.{role}='{exp.split_name(role)}' is the training split: scores on it measure "
                               f"fit, not generalisation (run records it as scored_on_training_data).")


def _check_leaks(exp: Experiment, train: str | None, loaded: dict[str, SplitAnnotations], report: CheckReport) -> None:
    """The training split shares no video or segment with an evaluation split (read for that when the check was
    asked for evaluation splits only); one that is the training data itself is a warning."""
    if not train or train not in exp.plugin.splits() or not set(loaded) - {train}:
        return
    try:
        parts = {s: parts_of(exp.plugin, s, ann) for s, ann in loaded.items()}
        if train not in parts:
            parts[train] = parts_of(exp.plugin, train, load_annotations(exp.plugin, train, exp.dataset_name))
    except DataError as exc:
        report.problems.append(f"{train}: {exc}")
        return
    for split in [s for s in parts if s != train]:
        if is_training_data(parts[train], parts[split]):
            report.warnings.append(f"split {split} holds the same segments as the training split {train}: scores "
                                   f"on it measure fit, not generalisation.")
            continue
        try:
            check_disjoint(parts[train], parts[split], f"{exp.dataset_name} {train}", f"{exp.dataset_name} {split}")
        except DataError as exc:
            report.problems.append(f"{exc}")
