"""A suite's checks against the paper: each measured metric of its runs beside its published TIM value.

Running the suite itself (planning, claims, launchers) is ``tim_bench.launch``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .spec import leaderboard_spec
from .reference import Reference, reference_for_metric


@dataclass(frozen=True)
class Check:
    """One measured metric of one run against its published value."""

    run_id: str
    dataset: str
    metric: str
    measured: float
    published: float
    tolerance: float
    reference: str

    @property
    def passed(self) -> bool:
        return abs(self.measured - self.published) <= self.tolerance


def check_against_reference(records: Iterable[Mapping[str, Any]], references: Sequence[Reference],
                            tolerance: float | None = None) -> list[Check]:
    """Every measured metric that has a published default row of the same dataset and split.

    Runs on generated data (``synthetic_data``) are never compared with the paper: they are left out
    (see ``synthetic_runs``). ``tolerance`` (percentage points) overrides each reference row's own (the
    authors' "few points").
    """
    checks = []
    for record in records:
        if record.get("synthetic_data"):
            continue
        spec = leaderboard_spec(str(record["dataset"]), record["metrics"], record.get("main_metric"))
        for metric, value in record["metrics"].items():
            ref = reference_for_metric(spec, references, metric, str(record.get("config_name")))
            if ref is None or value is None or ref.split != record["split"]:
                continue
            checks.append(Check(str(record["run_id"]), spec.name, metric, float(value), float(ref.metrics[metric]),
                                ref.tolerance if tolerance is None else tolerance, ref.id))
    return checks


def synthetic_runs(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """The run ids of records made on generated data, which ``check_against_reference`` leaves out."""
    return [str(r["run_id"]) for r in records if r.get("synthetic_data")]
