"""One suite job, wherever it runs (in the suite's process, a local process, a SLURM job): claim the pair in the
results store, train and record it, mark the claim, and write the outcome for the suite that waits on it.

``python -m tim_bench.launch.job JOB.json`` runs the job a local launcher wrote to JOB.json.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tim_bench_registry.files import write_json

from ..leaderboard import claims
from ..leaderboard.store import load_records
from .plan import Job, stored_record

log = logging.getLogger("tim_bench")
#: ``runner(config, cfg_options, work_dir, results_dir, resume) -> record``; the default is run_experiment
Runner = Callable[..., Mapping[str, Any]]
RAN, SKIPPED, HELD, FAILED = "ran", "skipped", "held", "failed"


def run_job(job: Job, runner: Runner | None = None) -> dict[str, Any]:
    """Run ``job`` unless the store holds it or another live process claimed it; the outcome (also written to
    ``job.result_file``): ``status`` ran / skipped / held / failed, with ``run_id``, ``error``, ``holder``."""
    outcome = _run(job, runner)
    outcome.update(key=job.key, finished=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    if job.result_file:
        write_json(job.result_file, outcome)
    return outcome


def _stored(job: Job) -> dict[str, Any] | None:
    return None if job.rerun else stored_record(load_records(job.results_dir), job.recipe_hash, job.config_hash,
                                                job.seed)


def _run(job: Job, runner: Runner | None) -> dict[str, Any]:
    try:
        record = _stored(job)
        if record is not None:
            return {"status": SKIPPED, "run_id": record["run_id"]}
        claim = claims.try_claim(job.results_dir, job.recipe_hash, job.seed,
                                 claims.holder_info(job=job.key, config=job.config), rerun=job.rerun)
    except Exception as exc:  # noqa: BLE001 - reported to the suite as this job's failure
        return {"status": FAILED, "error": f"{type(exc).__name__}: {exc}"}
    if isinstance(claim, claims.Refused):
        holder = claim.seen.holder
        if claim.done:
            return {"status": SKIPPED, "run_id": holder.get("run_id")}
        log.info("suite: %s is being run by %s; not run again here", job.name, claims.describe(holder))
        return {"status": HELD, "holder": holder, "claim": str(claim.seen.path)}
    try:
        record = _stored(job)  # stored between the first look and the claim: nothing to do
        if record is not None:
            claim.finish(claims.DONE, run_id=record["run_id"])
            return {"status": SKIPPED, "run_id": record["run_id"]}
        work_dir, resume = _work_dir(job, claim.previous)
        claim.update(work_dir=str(work_dir))
        log.info("suite: %s %s in %s", "resuming" if resume else "running", job.name, work_dir)
        ran = (runner or _default_runner(job))(job.config, dict(job.cfg_options), str(work_dir), job.results_dir,
                                               resume)
        claim.finish(claims.DONE, run_id=ran["run_id"])
        return {"status": RAN, "run_id": ran["run_id"], "work_dir": str(work_dir)}
    except BaseException as exc:  # a failed or interrupted run frees the pair for the next suite
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        claim.finish(claims.FAILED, error=error)
        if not isinstance(exc, Exception):
            raise
        log.debug("suite: %s failed", job.name, exc_info=True)
        return {"status": FAILED, "error": error}


def _work_dir(job: Job, previous: claims.Seen | None) -> tuple[Path, bool]:
    """The dead holder's work dir when it left a resume point there (last.pth, no result.json) and no lock of
    another host, else a new ``seed<S>-<UTC time>`` folder."""
    from ..runner.workdir import LAST, LOCK, RESULT

    old = Path(str(previous.holder.get("work_dir"))) if previous and previous.holder.get("work_dir") else None
    if old is not None and (old / LAST).is_file() and not (old / RESULT).exists():
        try:
            lock = json.loads((old / LOCK).read_text())
        except (OSError, ValueError):
            lock = None
        if not isinstance(lock, dict) or lock.get("host") == claims.holder_info()["host"]:
            return old, True
        log.info("suite: %s holds a lock of host %s; starting %s afresh", old, lock.get("host"), job.name)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    return Path(job.work_root) / f"seed{job.seed}-{stamp}", False


def _default_runner(job: Job) -> Runner:
    """In this process, or through torchrun when the job asks for several GPUs (processes)."""
    if job.gpus > 1:
        return lambda *args: torchrun(job.gpus, *args)
    from ..runner.jobs import run_experiment
    return run_experiment


def option_text(value: Any) -> str:
    """A --cfg-options value as mmengine's DictAction parses it back (numbers, booleans, strings, lists)."""
    if isinstance(value, (list, tuple)):
        inner = ",".join(option_text(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return str(value)


def torchrun_command(nproc: int, config: str, cfg_options: Mapping[str, Any], work_dir: str, results_dir: str,
                     resume: bool) -> list[str]:
    """``torchrun --standalone --nproc-per-node N -m tim_bench.cli.main run ...`` for one run on one node."""
    options = [f"{k}={option_text(v)}" for k, v in cfg_options.items()]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
            "-m", "tim_bench.cli.main", "run", config, "--work-dir", work_dir, "--results-dir", results_dir,
            *(["--resume"] if resume else []), *(["--cfg-options", *options] if options else [])]


def torchrun(nproc: int, config: str, cfg_options: Mapping[str, Any], work_dir: str, results_dir: str,
             resume: bool) -> dict[str, Any]:
    """Run one config with ``nproc`` processes (one per GPU, gloo processes on a CPU) and return its record."""
    from tim_bench_registry import TimBenchError

    command = torchrun_command(nproc, config, cfg_options, work_dir, results_dir, resume)
    log.info("suite: %s", " ".join(command))
    done = subprocess.run(command, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    result = Path(work_dir) / "result.json"
    if done.returncode != 0 or not result.is_file():
        raise TimBenchError(f"torchrun with {nproc} processes exited {done.returncode} without a result in "
                            f"{work_dir}; its log is {Path(work_dir) / 'log.txt'}.")
    return json.loads(result.read_text())


def run_job_file(path: str | Path) -> int:
    """The local launcher's entry: run the job described in ``path``; exit 0 unless it failed."""
    job = Job.from_dict(json.loads(Path(path).read_text()))
    _log_to_stderr()
    outcome = run_job(job)
    if outcome["status"] == FAILED:
        print(f"tim-bench suite job {job.key} failed: {outcome['error']}", file=sys.stderr)
        return 1
    return 0


def run_job_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    """The SLURM (submitit) entry: run the job ``data`` describes in this process."""
    _log_to_stderr()
    return run_job(Job.from_dict(data))


def _log_to_stderr() -> None:
    """INFO messages of tim-bench to stderr: the job's log (the run's own log.txt is written as well)."""
    logger = logging.getLogger("tim_bench")
    logger.setLevel(logging.INFO)
    if not any(type(h) is logging.StreamHandler for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)
    limit = os.environ.get("TIM_BENCH_THREADS")
    if limit:
        import torch
        torch.set_num_threads(int(limit))


if __name__ == "__main__":
    sys.exit(run_job_file(sys.argv[1]))
