"""How a suite is launched: from ``--launcher-config FILE`` (its ``launcher = dict(...)``) and flags (flags win)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tim_bench_registry import TimBenchError

LAUNCHERS = ("sequential", "local", "slurm")


@dataclass
class LaunchSettings:
    """Where and with what resources each (config, seed) job runs."""

    launcher: str = "sequential"
    jobs: int | None = None  # local: jobs at once (default: one per GPU, else 1)
    gpus_per_job: int | None = None  # default: 1 on SLURM and on a machine with GPUs, else 0; > 1 runs torchrun
    partition: str | None = None
    account: str | None = None
    time_min: int = 1440
    cpus_per_job: int | None = None
    mem_gb: float | None = None
    sbatch: dict[str, Any] = field(default_factory=dict)  # extra #SBATCH options, e.g. {"qos": "high"}
    setup: list[str] = field(default_factory=list)  # shell lines run in the sbatch script before the job
    max_parallel: int | None = None  # SLURM array: at most this many jobs at once
    cluster: str = "slurm"  # submitit cluster: "local" runs the SLURM path as local processes (tests)
    poll_s: float = 0.0  # seconds between two looks at the jobs (0: 1 s locally, 30 s on SLURM)

    def gpus(self, visible: int) -> int:
        """GPUs (processes) per job: as set, else 1 on SLURM or where GPUs are visible, else 0 (CPU)."""
        if self.gpus_per_job is not None:
            return self.gpus_per_job
        return 1 if self.launcher == "slurm" and self.cluster == "slurm" or visible else 0

    def poll(self) -> float:
        return self.poll_s or (30.0 if self.launcher == "slurm" and self.cluster == "slurm" else 1.0)


def load_settings(path: str | Path | None, flags: Mapping[str, Any]) -> LaunchSettings:
    """``launcher`` of the config file ``path`` (if any), then every flag that was given."""
    values: dict[str, Any] = {}
    if path is not None:
        from mmengine.config import Config
        try:
            section = Config.fromfile(str(path)).get("launcher")
        except Exception as exc:  # mmengine raises many types for a broken file
            raise TimBenchError(f"Could not read the launcher config {path}: {exc}") from None
        if not isinstance(section, Mapping):
            raise TimBenchError(f"{path} has no `launcher = dict(...)` section; write one, e.g. "
                                f"launcher = dict(partition='gpu', gpus_per_job=1, time_min=600).")
        values.update(section)
    values.update({k: v for k, v in flags.items() if v is not None and v != [] and v != {}})
    known = {f.name for f in fields(LaunchSettings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise TimBenchError(f"Unknown launcher setting(s) {unknown}" + (f" in {path}" if path else "") +
                            f"; known: {', '.join(sorted(known))}.")
    converted: dict[str, Any] = {k: (dict(v) if k == "sbatch" else list(v) if k == "setup" else v)
                                 for k, v in values.items()}
    settings = LaunchSettings(**converted)
    if settings.launcher not in LAUNCHERS:
        raise TimBenchError(f"launcher '{settings.launcher}' is not one of {', '.join(LAUNCHERS)}.")
    if settings.cluster not in ("slurm", "local"):
        raise TimBenchError(f"launcher cluster '{settings.cluster}' is not slurm or local.")
    for name in ("jobs", "time_min", "cpus_per_job", "max_parallel"):
        value = getattr(settings, name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise TimBenchError(f"launcher setting {name}={value!r} must be a whole number >= 1.")
    if settings.gpus_per_job is not None and (not isinstance(settings.gpus_per_job, int) or settings.gpus_per_job < 0):
        raise TimBenchError(f"launcher setting gpus_per_job={settings.gpus_per_job!r} must be a whole number >= 0.")
    return settings


def parse_sbatch_options(items: list[str]) -> dict[str, str | bool]:
    """``--sbatch KEY=VALUE`` items (``qos=high``, ``constraint=a100``) as a dict; a bare ``KEY`` is a flag."""
    out: dict[str, str | bool] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().lstrip("-")
        if not key:
            raise TimBenchError(f"--sbatch {item!r} is not KEY=VALUE (e.g. qos=high).")
        out[key] = value if sep else True
    return out
