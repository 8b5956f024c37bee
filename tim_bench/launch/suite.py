"""Run a planned suite: in this process one job after another, or launched (local processes, SLURM array) and
followed with a progress display until every job is done or failed (Ctrl-C detaches; the same command resumes).
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from ..leaderboard import claims
from ..leaderboard.store import load_records
from .job import FAILED, HELD, RAN, SKIPPED, Runner, run_job
from .plan import Job, Plan, plan_suite, stored_record
from .settings import LaunchSettings
from .state import (DONE, ELSEWHERE, QUEUED, RUNNING, JobState, SuiteFolder, claimed_state, job_state,
                    log_tail)

TERMINAL = (DONE, FAILED)


@dataclass(frozen=True)
class Outcome:
    """What happened to one (config, seed): ``ran``, ``skipped`` (already stored) or ``failed``."""

    config: str
    seed: int | None
    status: str
    record: dict[str, Any] | None = None
    error: str = ""
    log: str = ""


def planned_outcomes(plan: Plan) -> list[Outcome]:
    """The pairs the plan set aside: stored ones (skipped) and broken ones (failed)."""
    return ([Outcome(job.given, job.seed, SKIPPED, record) for job, record in plan.stored] +
            [Outcome(c, s, FAILED, error=e) for c, s, e in plan.broken])


def _record(job: Job, run_id: str | None = None) -> dict[str, Any] | None:
    records = load_records(job.results_dir)
    by_id = [r for r in records if run_id and r["run_id"] == run_id]
    return by_id[-1] if by_id else stored_record(records, job.recipe_hash, job.config_hash, job.seed)


def run_suite(configs: Sequence[str | Path], seeds: Sequence[int] | None = None, *, rerun: bool = False,
              results_dir: str | Path | None = None, cfg_options: Mapping[str, Any] | None = None,
              work_root: str | Path | None = None, runner: Runner | None = None) -> list[Outcome]:
    """Every config with every seed in this process, stored pairs skipped (the CLI's default launcher);
    ``runner(config, cfg_options, work_dir, results_dir, resume)`` defaults to ``run_experiment``."""
    return run_sequential(plan_suite(configs, seeds, rerun=rerun, results_dir=results_dir, cfg_options=cfg_options,
                                     work_root=work_root), runner)


def run_sequential(plan: Plan, runner: Runner | None = None, poll_s: float = 5.0) -> list[Outcome]:
    """Every job in this process, one after another; pairs another process holds are waited for at the end."""
    outcomes: list[Outcome] = []
    held: list[Job] = []
    for job in plan.jobs:
        result = run_job(job, runner)
        if result["status"] == HELD:
            held.append(job)
        elif result["status"] == FAILED:
            outcomes.append(Outcome(job.given, job.seed, FAILED, error=result["error"]))
        else:
            outcomes.append(Outcome(job.given, job.seed, result["status"], _record(job, result.get("run_id"))))
    for job in held:
        while True:
            state = _claim_state(job)
            if state.state in TERMINAL:
                break
            time.sleep(poll_s)
        outcomes.append(Outcome(job.given, job.seed, "ran elsewhere", _record(job, state.run_id)) if state.state == DONE
                        else Outcome(job.given, job.seed, FAILED, error=state.detail))
    return plan.sort(planned_outcomes(plan) + outcomes)


def _claim_state(job: Job) -> JobState:
    seen = claims.current(job.results_dir, job.recipe_hash, job.seed)
    return claimed_state({"recipe_hash": job.recipe_hash, "seed": job.seed}, seen.holder if seen else {},
                         job.results_dir)


class Follow:
    """The launched jobs of one suite, their states and the progress lines printed as they change."""

    def __init__(self, jobs: list[Job], folder: SuiteFolder, launcher: Any, out: TextIO) -> None:
        self.jobs = {job.key: job for job in jobs}
        self.folder, self.launcher, self.out = folder, launcher, out
        self.data = folder.read()
        self.entries: dict[str, dict[str, Any]] = self.data.setdefault("jobs", {})
        self.shown: dict[str, tuple[str, str]] = {}

    def state(self, key: str) -> JobState:
        entry = self.entries[key]
        handle = entry.get("handle") or {}
        slurm_state = self.launcher.state(key, handle) if handle.get("kind") == "submitit" and \
            self.folder.outcome(key) is None else None
        return job_state(self.folder, key, entry, slurm_state, self.jobs[key].results_dir if key in self.jobs
                         else None)

    def log(self, key: str) -> str:
        handle = self.entries[key].get("handle") or {}
        return str(handle.get("log") or self.folder.log_file(key))

    def show(self, states: dict[str, JobState]) -> None:
        """One line per job whose state changed (a failed one with its log's last lines), then the counts."""
        changed = False
        for key, st in states.items():
            if self.shown.get(key) == (st.state, st.detail):
                continue
            self.shown[key] = (st.state, st.detail)
            changed = True
            stamp = datetime.now().strftime("%H:%M:%S")
            detail = f"  {st.detail}" if st.detail else ""
            print(f"[{stamp}] {st.state:<9} {self.entries[key]['name']}{detail}  (log: {self.log(key)})",
                  file=self.out, flush=True)
            if st.state == FAILED:
                tail = log_tail([Path(self.log(key))] + self._logs(key))
                print("    " + tail.replace("\n", "\n    "), file=self.out, flush=True)
        if changed:
            counts = {s: sum(st.state == s for st in states.values()) for s in (QUEUED, RUNNING, DONE, FAILED)}
            waiting = sum(st.state == ELSEWHERE for st in states.values())
            print("  " + " · ".join(f"{n} {s}" for s, n in counts.items()) +
                  (f" · {waiting} running in another suite" if waiting else ""), file=self.out, flush=True)

    def _logs(self, key: str) -> list[Path]:
        return list(self.launcher.logs(key, self.entries[key].get("handle") or {}))

    def save(self) -> None:
        self.folder.write(self.data)


def run_launched(plan: Plan, settings: LaunchSettings, folder: SuiteFolder, command: list[str], *,
                 detach: bool = False, out: TextIO = sys.stdout) -> list[Outcome] | None:
    """Launch the plan's jobs (following those of an earlier run of this suite that still run), wait for them with
    a progress display, and return every outcome; None when detached (``detach``, or Ctrl-C)."""
    launcher = _launcher(settings, folder)
    follow = Follow(plan.jobs, folder, launcher, out)
    follow.data.update(id=folder.id, command=command, launcher=settings.launcher,
                       updated=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    for job, record in plan.stored:  # shown by --status as done
        follow.entries[job.key] = {**_entry(job), "stored_run_id": record["run_id"]}
    for job in plan.jobs:
        entry = follow.entries.get(job.key)
        if entry is not None and entry.get("handle") and follow.state(job.key).state in (QUEUED, RUNNING, ELSEWHERE):
            print(f"following {job.name}: still {follow.state(job.key).state} from an earlier run of this suite",
                  file=out)
            continue
        follow.entries[job.key] = _entry(job)
        folder.result_file(job.key).unlink(missing_ok=True)
    if settings.launcher == "slurm":
        fresh = [job for job in plan.jobs if not follow.entries[job.key].get("handle")]
        if fresh:
            handles = launcher.submit(fresh, f"tim-bench-{folder.id}")
            for key, handle in handles.items():
                follow.entries[key]["handle"] = handle
            print(f"submitted {len(fresh)} jobs ({settings.cluster} job array {handles[fresh[0].key]['job_id']})",
                  file=out)
    follow.save()
    if detach:
        print(f"detached; follow the suite with `tim-bench suite ... --status` or by running the same command "
              f"again (suite {folder.id}, {folder.path}).", file=out)
        return None
    try:
        _wait(follow, launcher, settings)
    except KeyboardInterrupt:
        running = [k for k, st in ((k, follow.state(k)) for k in follow.jobs) if st.state == RUNNING]
        print(f"\ndetached: {len(running)} jobs keep running; run the same command again to follow them (and start "
              f"the queued ones), or add --status to see where they stand.", file=out)
        follow.save()
        return None
    outcomes = []
    for key, job in follow.jobs.items():
        st = follow.state(key)
        if st.state == DONE:
            status = SKIPPED if st.detail == "already stored" else RAN if not st.detail.startswith("run by") \
                else "ran elsewhere"
            outcomes.append(Outcome(job.given, job.seed, status, _record(job, st.run_id), log=follow.log(key)))
        else:
            outcomes.append(Outcome(job.given, job.seed, FAILED, error=st.detail, log=follow.log(key)))
    return plan.sort(planned_outcomes(plan) + outcomes)


def _entry(job: Job) -> dict[str, Any]:
    """A job's line in suite.json (its handle is added when it starts)."""
    return {"name": job.name, "config": job.config, "seed": job.seed, "recipe_hash": job.recipe_hash,
            "results_dir": job.results_dir, "handle": None}


def _launcher(settings: LaunchSettings, folder: SuiteFolder) -> Any:
    if settings.launcher == "local":
        from .local import LocalLauncher
        return LocalLauncher(settings, folder)
    from .slurm import SlurmLauncher
    return SlurmLauncher(settings, folder)


def _wait(follow: Follow, launcher: Any, settings: LaunchSettings) -> None:
    """Look at the jobs every ``poll`` seconds (starting queued local jobs in free slots) until all have ended."""
    while True:
        launcher.reap()
        states = {key: follow.state(key) for key in follow.jobs}
        if settings.launcher == "local":
            busy = [list(follow.entries[k]["handle"].get("slot") or []) for k, st in states.items()
                    if st.state == RUNNING and follow.entries[k].get("handle")]
            for key, st in states.items():
                slot = launcher.free_slot(busy) if st.state == QUEUED and not follow.entries[key].get("handle") \
                    else None
                if slot is not None:
                    follow.entries[key]["handle"] = launcher.start(follow.jobs[key], slot)
                    busy.append(slot)
                    states[key] = JobState(RUNNING)
                    follow.save()
        follow.show(states)
        if all(st.state in TERMINAL for st in states.values()):
            follow.save()
            return
        time.sleep(settings.poll())


def status_lines(folder: SuiteFolder, launcher_states: Callable[[str, dict], str] | None = None) -> list[tuple]:
    """Rows (job, state, detail, log) of a launched suite as it stands now (``suite --status``)."""
    data = folder.read()
    rows = []
    for key, entry in data.get("jobs", {}).items():
        handle = entry.get("handle") or {}
        slurm_state = launcher_states(key, handle) if launcher_states and handle.get("kind") == "submitit" else None
        st = job_state(folder, key, entry, slurm_state, entry.get("results_dir"))
        rows.append((entry.get("name", key), st.state, st.detail or st.run_id or "",
                     handle.get("log") or ("-" if entry.get("stored_run_id") else str(folder.log_file(key)))))
    return rows
