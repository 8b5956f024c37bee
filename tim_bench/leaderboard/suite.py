"""Run several configs and seeds in sequence, skip what the store already holds, and check reproductions.

A planned run is identified by its seed and the hash of its resolved config (overrides included,
work and results dirs excluded), so a suite re-run adds nothing unless asked to (``rerun``).
A failing run is recorded and the suite goes on with the next one.
"""
from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..config import config_hash, load_config
from .headline import headline_for
from .reference import Reference, reference_for_metric
from .store import load_records, store_dir

log = logging.getLogger("tim_bench")
Runner = Callable[..., Mapping[str, Any]]


@dataclass(frozen=True)
class SuiteRun:
    """What happened to one (config, seed): ``ran``, ``skipped`` (already stored) or ``failed``."""

    config: str
    seed: int | None
    status: str
    record: Mapping[str, Any] | None = None
    error: str = ""


def run_suite(configs: Sequence[str | Path], seeds: Sequence[int] | None = None, *, rerun: bool = False,
              results_dir: str | Path | None = None, cfg_options: Mapping[str, Any] | None = None,
              work_root: str | Path | None = None, runner: Runner) -> list[SuiteRun]:
    """Run every config with every seed (config-major order; ``None``: each config's own seed) and
    return one outcome per pair.

    Each run gets its own work dir, ``<work_root or config work_dir or work_dirs/<name>>/seed<S>-<UTC time>``,
    so seeds and re-runs never overwrite each other's predictions. ``runner`` runs one config (the CLI passes
    ``tim_bench.runner.experiment.run_experiment``; the leaderboard stays below the runner).
    """
    outcomes = []
    for config in configs:
        for requested in seeds if seeds else [None]:
            options = {**(cfg_options or {}), **({} if requested is None else {"seed": int(requested)})}
            seed = requested
            try:
                cfg = load_config(config, options)
                seed = int(cfg.get("seed", 0))
                folder = store_dir(results_dir or cfg.get("results_dir"))
                digest = config_hash(cfg)
                stored = [r for r in load_records(folder) if r["config_hash"] == digest and int(r["seed"]) == seed]
                if stored and not rerun:
                    log.info("suite: %s seed %d is already in %s (%s); skipped", cfg["_name"], seed, folder,
                             stored[-1]["run_id"])
                    outcomes.append(SuiteRun(str(config), seed, "skipped", stored[-1]))
                    continue
                root = Path(work_root) / cfg["_name"] if work_root else Path(cfg.get("work_dir") or
                                                                             Path("work_dirs") / cfg["_name"])
                work_dir = root / f"seed{seed}-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}"
                log.info("suite: running %s seed %d in %s", cfg["_name"], seed, work_dir)
                record = runner(config, options, str(work_dir), str(folder))
            except Exception as exc:  # noqa: BLE001 - a failed run is reported at the end, the suite goes on
                log.debug("suite: %s seed %s failed:\n%s", config, seed, traceback.format_exc())
                outcomes.append(SuiteRun(str(config), seed, "failed", error=f"{type(exc).__name__}: {exc}"))
                continue
            outcomes.append(SuiteRun(str(config), seed, "ran", record))
    return outcomes


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
        spec = headline_for(str(record["dataset"]), record["metrics"], record.get("main_metric"))
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
