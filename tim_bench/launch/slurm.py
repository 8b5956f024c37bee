"""``--launcher slurm``: the jobs as one SLURM job array through submitit (``pip install "tim-bench[slurm]"``).

Each array task runs ``tim_bench.launch.job.run_job_dict`` for one (config, seed) on one node with
``gpus_per_job`` GPUs (more than one: through torchrun). ``cluster="local"`` gives the same jobs to submitit's
local executor (processes of this machine), which tests the SLURM path without a cluster.
"""
from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

from tim_bench_registry import TimBenchError

from .job import run_job_dict
from .plan import Job
from .settings import LaunchSettings
from .state import SuiteFolder


def _submitit() -> Any:
    try:
        import submitit
    except ImportError:
        raise TimBenchError('--launcher slurm needs submitit, which is not installed; install the slurm extra: '
                            'pip install "tim-bench[slurm]".') from None
    return submitit


def executor_parameters(settings: LaunchSettings, name: str) -> dict[str, Any]:
    """The AutoExecutor parameters of the suite's jobs (one node, one task, ``gpus_per_job`` GPUs each)."""
    gpus = settings.gpus(0)
    params: dict[str, Any] = {"name": name, "timeout_min": settings.time_min, "nodes": 1, "tasks_per_node": 1,
                              "gpus_per_node": gpus or None, "cpus_per_task": settings.cpus_per_job,
                              "mem_gb": settings.mem_gb, "slurm_partition": settings.partition,
                              "slurm_account": settings.account,
                              "slurm_additional_parameters": dict(settings.sbatch) or None,
                              "slurm_setup": list(settings.setup) or None,
                              "slurm_array_parallelism": settings.max_parallel}
    return {k: v for k, v in params.items() if v is not None}


def sbatch_script(settings: LaunchSettings, folder: SuiteFolder, n_jobs: int, name: str) -> str:
    """The sbatch script submitit writes for the suite's job array (``--dry-run`` prints it)."""
    _submitit()
    from submitit.slurm import slurm

    generic = {"name": "job_name", "timeout_min": "time", "nodes": "nodes", "tasks_per_node": "ntasks_per_node",
               "gpus_per_node": "gpus_per_node", "cpus_per_task": "cpus_per_task", "mem_gb": "mem"}
    params: dict[str, Any] = {}
    for key, value in executor_parameters(settings, name).items():
        if key.startswith("slurm_"):
            params[key[len("slurm_"):]] = value
        else:
            params[generic[key]] = slurm._convert_mem(value) if key == "mem_gb" else value
    jobs = folder.path / "slurm" / "%j"
    command = " ".join([shlex.quote(sys.executable), "-u -m submitit.core._submit", shlex.quote(str(jobs))])
    return slurm._make_sbatch_string(command=command, folder=jobs, map_count=n_jobs, **params)


class SlurmLauncher:
    """Submits jobs as one array and answers their SLURM states."""

    def __init__(self, settings: LaunchSettings, folder: SuiteFolder) -> None:
        self.settings, self.folder = settings, folder
        self.submitit = _submitit()
        self.jobs: dict[str, Any] = {}

    def submit(self, jobs: list[Job], name: str) -> dict[str, dict[str, Any]]:
        """Submit ``jobs`` (one array) and return each one's handle."""
        executor = self.submitit.AutoExecutor(folder=self.folder.path / "slurm" / "%j", cluster=self.settings.cluster)
        executor.update_parameters(**executor_parameters(self.settings, name))
        jobs = [self.folder.write_spec(job) for job in jobs]
        submitted = executor.map_array(run_job_dict, [job.to_dict() for job in jobs])
        handles = {}
        for job, sub in zip(jobs, submitted):
            self.jobs[job.key] = sub
            handles[job.key] = {"kind": "submitit", "cluster": self.settings.cluster, "job_id": str(sub.job_id),
                                "folder": str(self.folder.path / "slurm" / "%j"),
                                "log": str(sub.paths.stderr)}
            if self.settings.cluster == "local":  # a local submitit job is a process of this host
                from .state import local_handle
                handles[job.key] = {**local_handle(int(sub.job_id)), **handles[job.key], "kind": "process"}
        return handles

    def state(self, key: str, handle: dict[str, Any]) -> str:
        """The SLURM state of a submitted job (``UNKNOWN`` when SLURM cannot tell)."""
        job = self.jobs.get(key)
        if job is None:
            job = self.submitit.SlurmJob(folder=handle["folder"], job_id=handle["job_id"])
            self.jobs[key] = job
        try:
            return str(job.state)
        except Exception:  # noqa: BLE001 - sacct unreachable: asked again at the next look
            return "UNKNOWN"

    def reap(self) -> None:
        """Let submitit's local jobs collect their exits (SLURM jobs need nothing)."""
        for job in self.jobs.values():
            if hasattr(job, "_process") and job._process is not None:
                job._process.poll()

    @staticmethod
    def logs(key: str, handle: dict[str, Any]) -> list[Path]:
        return [Path(handle["log"]), Path(handle["log"]).with_suffix(".out")] if handle.get("log") else []
