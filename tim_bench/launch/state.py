"""A launched suite on disk, ``STORE/.suites/<id>/``: ``suite.json`` (its jobs and where each was started),
``jobs/<key>.json`` (what each job runs), ``jobs/<key>.result.json`` (its outcome) and ``logs/`` (local jobs).

The same command finds the same folder again, so a re-run (or ``suite --status``) follows jobs still queued or
running instead of starting them twice.
"""
from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tim_bench_registry.files import write_json

from ..leaderboard import claims
from .plan import Job

SUITES = ".suites"
QUEUED, RUNNING, DONE, FAILED, ELSEWHERE = "queued", "running", "done", "failed", "elsewhere"
#: submitit / SLURM states of a job that has not started, and of one that runs
PENDING_STATES = {"PENDING", "REQUEUED", "CONFIGURING", "RESIZING", "SUSPENDED", "READY", "UNKNOWN"}
RUNNING_STATES = {"RUNNING", "COMPLETING", "STAGE_OUT"}


class SuiteFolder:
    """The files of one launched suite."""

    def __init__(self, store: str | Path, sid: str) -> None:
        self.id = sid
        self.path = Path(store) / SUITES / sid

    def spec_file(self, job: Job) -> Path:
        return self.path / "jobs" / f"{job.key}.json"

    def write_spec(self, job: Job) -> Job:
        """Write what ``job`` runs to its spec file, its outcome going to this suite's result file; the job so."""
        job = replace(job, result_file=str(self.result_file(job.key)))
        write_json(self.spec_file(job), job.to_dict())
        self.result_file(job.key).unlink(missing_ok=True)
        return job

    def result_file(self, key: str) -> Path:
        return self.path / "jobs" / f"{key}.result.json"

    def log_file(self, key: str) -> Path:
        return self.path / "logs" / f"{key}.log"

    def read(self) -> dict[str, Any]:
        """suite.json, or an empty suite."""
        try:
            data = json.loads((self.path / "suite.json").read_text())
        except (OSError, ValueError):
            return {"id": self.id, "jobs": {}}
        return data if isinstance(data, dict) and isinstance(data.get("jobs"), dict) else {"id": self.id, "jobs": {}}

    def write(self, data: Mapping[str, Any]) -> None:
        write_json(self.path / "suite.json", dict(data))

    def outcome(self, key: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self.result_file(key).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None


def all_suites(store: str | Path) -> list[SuiteFolder]:
    """Every launched suite of a store, the most recently changed first."""
    root = Path(store) / SUITES
    folders = [p for p in root.iterdir() if (p / "suite.json").is_file()] if root.is_dir() else []
    folders.sort(key=lambda p: (p / "suite.json").stat().st_mtime, reverse=True)
    return [SuiteFolder(store, p.name) for p in folders]


def local_handle(pid: int, **extra: Any) -> dict[str, Any]:
    """Where a job runs as a process of this host."""
    return {"kind": "process", "host": socket.gethostname(), "pid": pid, "pid_start": claims.process_start(pid),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), **extra}


def process_alive(handle: Mapping[str, Any]) -> bool | None:
    """Whether a process handle's process runs; None when it ran on another host (cannot be told here)."""
    if handle.get("host") != socket.gethostname():
        return None
    return claims.dead_reason({**handle, "slurm_job_id": None}, 0.0) is None


@dataclass(frozen=True)
class JobState:
    """Where one job stands, with a detail (error, holder or SLURM state)."""

    state: str
    detail: str = ""
    run_id: str | None = None


def job_state(folder: SuiteFolder, key: str, entry: Mapping[str, Any], slurm_state: str | None = None,
              store: str | Path | None = None) -> JobState:
    """The state of job ``key`` from its outcome file, else from its process or SLURM job (``slurm_state``)."""
    outcome = folder.outcome(key)
    if outcome is not None:
        status = outcome.get("status")
        if status in ("ran", "skipped"):
            return JobState(DONE, "already stored" if status == "skipped" else "", outcome.get("run_id"))
        if status == "held":
            return claimed_state(entry, outcome.get("holder") or {}, store)
        return JobState(FAILED, str(outcome.get("error", "")))
    if entry.get("stored_run_id"):
        return JobState(DONE, "already stored", entry["stored_run_id"])
    handle = entry.get("handle")
    if not handle:
        return JobState(QUEUED)
    if handle.get("kind") == "process":
        alive = process_alive(handle)
        if alive is False:
            return JobState(FAILED, f"process {handle['pid']} ended without an outcome (killed?)")
        return JobState(RUNNING, "" if alive else f"on {handle.get('host')}")
    state = (slurm_state or "UNKNOWN").split()[0].upper()
    if state in PENDING_STATES:
        return JobState(QUEUED, f"SLURM job {handle.get('job_id')} {state.lower()}")
    if state in RUNNING_STATES:
        return JobState(RUNNING, f"SLURM job {handle.get('job_id')}")
    return JobState(FAILED, f"SLURM job {handle.get('job_id')} ended ({state}) without an outcome")


def claimed_state(entry: Mapping[str, Any], holder: Mapping[str, Any], store: str | Path | None) -> JobState:
    """A pair another process claimed: waiting on that claim until it is done, failed or dead."""
    seen = claims.current(store, entry["recipe_hash"], int(entry["seed"])) if store else None
    if seen is None:
        return JobState(ELSEWHERE, f"run by {claims.describe(dict(holder))}")
    if seen.status == claims.DONE:
        return JobState(DONE, f"run by {claims.describe(seen.holder)}", seen.holder.get("run_id"))
    if seen.status == claims.FAILED:
        return JobState(FAILED, f"failed in {claims.describe(seen.holder)}: {seen.holder.get('error')}; re-run the "
                                f"suite to try it again")
    reason = claims.dead_reason(seen.holder, seen.age_s)
    if reason:
        return JobState(FAILED, f"its holder died ({reason}); re-run the suite to run it")
    return JobState(ELSEWHERE, f"run by {claims.describe(seen.holder)}")


def log_tail(paths: list[Path], lines: int = 15) -> str:
    """The last ``lines`` lines of the first of ``paths`` that has any text."""
    for path in paths:
        try:
            text = path.read_text(errors="replace").rstrip()
        except OSError:
            continue
        if text:
            return "\n".join(text.splitlines()[-lines:])
    return "(the log is empty)"
