"""A suite's jobs: one per (config, seed), identified by its recipe hash (what is computed on what data) and seed."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import config_hash, load_config, recipe_hash
from ..data.fingerprint import data_fingerprint
from ..leaderboard.store import load_records, recipe_of, store_dir


@dataclass(frozen=True)
class Job:
    """One (config, seed) of a suite, with everything a process elsewhere needs to run it (JSON-serialisable)."""

    key: str  # unique in its suite: <index>-<config name>-s<seed>
    config: str
    seed: int
    cfg_options: dict[str, Any]
    recipe_hash: str
    config_hash: str
    results_dir: str
    work_root: str  # each run gets a folder seed<S>-<UTC time> under it
    rerun: bool = False
    gpus: int = 0  # > 1: the run goes through torchrun with this many processes
    result_file: str = ""  # where the job writes its outcome (JSON); empty: only returned
    given: str = ""  # the config as the command named it (outcome tables show it)

    @property
    def name(self) -> str:
        return f"{Path(self.config).stem} seed {self.seed}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Job":
        return cls(**dict(data))


@dataclass
class Plan:
    """The jobs to run, the pairs the store already holds (``stored``) and the pairs that cannot run (``broken``:
    config or data errors, one sentence each)."""

    jobs: list[Job] = field(default_factory=list)
    stored: list[tuple[Job, dict[str, Any]]] = field(default_factory=list)  # (job, its stored record)
    broken: list[tuple[str, int | None, str]] = field(default_factory=list)  # (config, seed, error)
    order: list[tuple[str, int | None]] = field(default_factory=list)  # every (config, seed) in command order

    def sort(self, outcomes: list[Any]) -> list[Any]:
        """Outcomes (with ``config`` and ``seed``) in the order the command named their pairs."""
        rank = {pair: i for i, pair in enumerate(self.order)}
        return sorted(outcomes, key=lambda o: rank.get((o.config, o.seed), len(rank)))


def stored_record(records: Sequence[Mapping[str, Any]], recipe: str, digest: str, seed: int
                  ) -> dict[str, Any] | None:
    """The newest stored run of (recipe, seed): its ``recipe_hash`` matches, or, for a record made before recipes
    carried a data fingerprint, its ``config_hash`` (the same config at the same data path) does."""
    found = [r for r in records if int(r["seed"]) == seed and
             (recipe_of(r) == recipe or (not r.get("data_fingerprint") and r["config_hash"] == digest))]
    return dict(found[-1]) if found else None


def plan_suite(configs: Sequence[str | Path], seeds: Sequence[int] | None, *, rerun: bool = False,
               results_dir: str | Path | None = None, cfg_options: Mapping[str, Any] | None = None,
               work_root: str | Path | None = None, gpus: int = 0) -> Plan:
    """Every config with every seed (config-major; ``None``: each config's own seed), pairs already stored set
    aside unless ``rerun``. The data of each config is fingerprinted once (its recipe hash needs it)."""
    plan = Plan()
    records_by_store: dict[Path, list[dict[str, Any]]] = {}
    fingerprints: dict[str, str] = {}
    for index, config in enumerate(configs):
        for requested in seeds if seeds else [None]:
            options = {**(cfg_options or {}), **({} if requested is None else {"seed": int(requested)})}
            seed = requested
            try:
                cfg = load_config(config, options)
                seed = int(cfg.get("seed", 0))
                folder = store_dir(results_dir or cfg.get("results_dir")).absolute()
                data_key = json.dumps([cfg.get("data_root"), cfg.to_dict().get("dataset"),
                                       cfg.to_dict().get("features")], sort_keys=True, default=str)
                if data_key not in fingerprints:
                    fingerprints[data_key] = data_fingerprint(cfg)["sha256"]
                recipe, digest = recipe_hash(cfg, fingerprints[data_key]), config_hash(cfg)
            except Exception as exc:  # noqa: BLE001 - a broken pair is reported with the others, the suite goes on
                plan.broken.append((str(config), seed, f"{type(exc).__name__}: {exc}"))
                plan.order.append((str(config), seed))
                continue
            plan.order.append((str(config), seed))
            if folder not in records_by_store:
                records_by_store[folder] = load_records(folder)
            stored = stored_record(records_by_store[folder], recipe, digest, seed)
            root = Path(work_root) / cfg["_name"] if work_root else Path(cfg.get("work_dir") or
                                                                         Path("work_dirs") / cfg["_name"])
            job = (Job(key=f"{index:02d}-{cfg['_name']}-s{seed}", config=str(Path(cfg["_path"]).absolute()),
                                 seed=seed, cfg_options=options, recipe_hash=recipe, config_hash=digest,
                                 results_dir=str(folder), work_root=str(root.absolute()), rerun=rerun, gpus=gpus,
                                 given=str(config)))
            if stored and not rerun:
                plan.stored.append((job, stored))
            else:
                plan.jobs.append(job)
    return plan


def suite_id(configs: Sequence[str | Path], seeds: Sequence[int] | None, cfg_options: Mapping[str, Any] | None,
             work_root: str | Path | None) -> str:
    """The same command names the same suite (its folder in the store, for ``--status`` and resuming)."""
    text = json.dumps([[str(Path(c).absolute()) if Path(c).is_file() else str(c) for c in configs],
                       list(seeds or []), dict(cfg_options or {}), str(work_root or "")], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
