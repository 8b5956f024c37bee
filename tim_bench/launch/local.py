"""``--launcher local``: each job a process of this machine, one per GPU (or ``gpus_per_job`` GPUs), else ``--jobs N``
CPU processes with a fair share of the CPU threads each.

Jobs start in a session of their own: interrupting the suite (Ctrl-C) detaches it and the running jobs go
on; re-running the same command follows them and starts the jobs still queued.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config import available_cpus
from .plan import Job
from .settings import LaunchSettings
from .state import SuiteFolder, local_handle


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES names them (indices when it is unset)."""
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    named = [g.strip() for g in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()]
    return named[:count] if named else [str(i) for i in range(count)]


class LocalLauncher:
    """Starts jobs as processes when a slot (a GPU group, or a CPU share) is free."""

    def __init__(self, settings: LaunchSettings, folder: SuiteFolder) -> None:
        self.folder = folder
        gpus = visible_gpus()
        self.gpus_per_job = settings.gpus(len(gpus))
        if self.gpus_per_job and gpus:
            groups = [gpus[i:i + self.gpus_per_job] for i in range(0, len(gpus), self.gpus_per_job)]
            self.slots = [g for g in groups if len(g) == self.gpus_per_job][:settings.jobs or None]
        else:  # CPU processes (gpus_per_job > 1 without GPUs: that many gloo processes per job)
            self.slots = [[f"cpu{i}"] for i in range(settings.jobs or 1)]
        if not self.slots:
            from tim_bench_registry import TimBenchError
            raise TimBenchError(f"--gpus-per-job {self.gpus_per_job} needs at least that many GPUs; this machine "
                                f"shows {len(gpus)}.")
        self.threads = max(1, available_cpus() // len(self.slots))
        self.children: dict[str, subprocess.Popen] = {}

    def free_slot(self, busy: list[list[str]]) -> list[str] | None:
        """A slot (GPU names, or ``cpuN``) that no running job uses, or None."""
        return next((slot for slot in self.slots if slot not in busy), None)

    def command(self, job: Job) -> list[str]:
        return [sys.executable, "-m", "tim_bench.launch.job", str(self.folder.spec_file(job))]

    def start(self, job: Job, slot: list[str]) -> dict[str, Any]:
        """Start ``job`` on ``slot`` and return its handle."""
        self.folder.write_spec(job)
        log = self.folder.log_file(job.key)
        log.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self._env(slot)}
        with open(log, "a") as out:
            child = subprocess.Popen(self.command(job), stdout=out, stderr=subprocess.STDOUT, env=env,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self.children[job.key] = child
        return local_handle(child.pid, slot=slot, log=str(log))

    def _env(self, slot: list[str]) -> Mapping[str, str]:
        threads = str(self.threads)
        env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "TIM_BENCH_THREADS": threads}
        if not slot[0].startswith("cpu"):
            env["CUDA_VISIBLE_DEVICES"] = ",".join(slot)
        return env

    def reap(self) -> None:
        """Collect the exit of finished children (so they are not taken for running zombies)."""
        for key, child in list(self.children.items()):
            if child.poll() is not None:
                del self.children[key]

    def logs(self, key: str, handle: Mapping[str, Any]) -> list[Path]:
        return [self.folder.log_file(key)]
