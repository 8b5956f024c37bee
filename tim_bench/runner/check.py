"""`tim-bench check-data`: assemble a config's dataset and features, then run every check of ``data.check``."""
from __future__ import annotations

from collections.abc import Iterable

from mmengine.config import Config

from tim_bench_registry import DataError, SplitAnnotations, TimBenchError
from tim_bench_registry.contracts import check_disjoint

from ..data.check import CheckReport, check_split
from .experiment import Experiment, same_segments


def check_data(cfg: Config, splits: Iterable[str] | None = None, tolerance: float = 1.0,
               nan_scan: bool = True) -> CheckReport:
    """Check every split the config uses (or ``splits``) and return the report; nothing is written."""
    report = CheckReport()
    try:
        exp = Experiment(cfg, cache_dir=None)
    except TimBenchError as exc:
        report.problems.append(f"the config's dataset or features cannot be opened: {exc}")
        return report
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
    if train in loaded:
        for split, ann in loaded.items():
            if split == train:
                continue
            if same_segments(loaded[train], ann):
                report.lines.append(f"warning: split {split} holds the same segments as the training split {train}: "
                                    f"scores on it measure fit, not generalisation.")
                continue
            try:
                check_disjoint(loaded[train], ann, f"split {train}", f"split {split}")
            except DataError as exc:
                report.problems.append(f"{exc}")
    return report
