"""Claims in the results store: a (recipe, seed) is claimed before it trains, so that any number of suites and
launchers side by side run each pair once.

A pair's claims are files ``STORE/.claims/<recipe_hash>-s<seed>/<generation>.json``. Generation 0 is the first
claim; a claim whose holder died, or whose run failed, is replaced by the next generation. Every claim appears
with its content in one step (written to a temporary file, then ``os.link``, which fails when the name exists
and is atomic on NFS too), and nothing relies on ``flock``. Only the holder ever rewrites its own file (by an
atomic rename) to say ``done`` or ``failed``; while running it touches the file every ``HEARTBEAT_S``.

A ``running`` claim is dead when its holder ran on this host and its process is gone, when it names a SLURM
job that ``squeue`` no longer lists, or when its heartbeat is older than ``STALE_S`` (a crashed node).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tim_bench_registry import TimBenchError

from ..io import atomic_path

CLAIMS = ".claims"
RUNNING, DONE, FAILED = "running", "done", "failed"
#: Seconds between two touches of a running claim, and the age at which an untouched claim counts as dead.
HEARTBEAT_S, STALE_S = 30.0, 600.0
#: Claim files a pair may hold (generations 0000 to 9999).
GENERATIONS = 10_000


def claims_dir(store: str | Path, recipe: str, seed: int) -> Path:
    """The folder of one pair's claims in the store ``store``."""
    return Path(store) / CLAIMS / f"{recipe}-s{int(seed)}"


def claim_path(folder: Path, generation: int) -> Path:
    """The file of one generation of a pair's claims."""
    return folder / f"{generation:04d}.json"


def process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (tells a reused pid from the original); None where unknown."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def holder_info(**extra: Any) -> dict[str, Any]:
    """Who this process is: host, pid (and its start time), SLURM job id when inside a job, the time."""
    job = os.environ.get("SLURM_ARRAY_JOB_ID")
    job_id = f"{job}_{os.environ['SLURM_ARRAY_TASK_ID']}" if job and "SLURM_ARRAY_TASK_ID" in os.environ else \
        os.environ.get("SLURM_JOB_ID")
    return {"status": RUNNING, "host": socket.gethostname(), "pid": os.getpid(),
            "pid_start": process_start(os.getpid()),
            "slurm_job_id": job_id, "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), **extra}


def _slurm_job_ended(job_id: str) -> bool | None:
    """True when ``squeue`` no longer lists the job, False when it does, None when SLURM cannot be asked here."""
    if shutil.which("squeue") is None:
        return None
    try:
        out = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return "Invalid job id" in out.stderr or None
    return not out.stdout.strip()


def dead_reason(holder: dict[str, Any], age_s: float) -> str | None:
    """Why the holder of a ``running`` claim is dead (a phrase), or None while it may be alive."""
    if age_s > STALE_S:
        return f"its heartbeat stopped {age_s / 60:.0f} min ago"
    if holder.get("host") == socket.gethostname():
        pid = int(holder.get("pid") or -1)
        try:
            os.kill(pid, 0) if pid > 0 else None
        except ProcessLookupError:
            return f"process {pid} on {holder['host']} is gone"
        except PermissionError:
            pass  # another user's live process
        started = holder.get("pid_start")
        if pid <= 0 or (started is not None and process_start(pid) not in (None, started)):
            return f"process {pid} on {holder['host']} is gone (its pid was reused)"
    if holder.get("slurm_job_id") and _slurm_job_ended(str(holder["slurm_job_id"])):
        return f"SLURM job {holder['slurm_job_id']} has ended"
    return None


def describe(holder: dict[str, Any]) -> str:
    """e.g. 'pid 123 on node7 (SLURM job 55_3) since 2026-01-01T10:00:00+00:00'."""
    job = f" (SLURM job {holder['slurm_job_id']})" if holder.get("slurm_job_id") else ""
    return f"pid {holder.get('pid')} on {holder.get('host')}{job} since {holder.get('started')}"


@dataclass
class Seen:
    """A claim found on disk: its file, content and the age of its last heartbeat."""

    path: Path
    holder: dict[str, Any]
    age_s: float

    @property
    def status(self) -> str:
        return str(self.holder.get("status", RUNNING))


def read_claim(path: Path) -> Seen | None:
    """The claim file ``path``, None when it does not exist; an unreadable one reads as a failed claim."""
    try:
        text, st = path.read_text(), path.stat()
    except FileNotFoundError:
        return None
    try:
        holder = json.loads(text)
    except ValueError:
        holder = None
    if not isinstance(holder, dict):
        holder = {"status": FAILED, "error": f"unreadable claim file {path}"}
    return Seen(path, holder, max(0.0, time.time() - st.st_mtime))


def current(store: str | Path, recipe: str, seed: int) -> Seen | None:
    """The newest claim of a pair (None when nobody claimed it)."""
    return _newest(claims_dir(store, recipe, seed))[1]


def _newest(folder: Path) -> tuple[int, Seen | None]:
    """(generation, claim) of the newest claim file in a pair's folder; (-1, None) when there is none."""
    newest: tuple[int, Seen | None] = (-1, None)
    for gen in range(GENERATIONS):
        seen = read_claim(claim_path(folder, gen))
        if seen is None:
            break
        newest = (gen, seen)
    return newest


@dataclass
class Claim:
    """A claim this process holds; ``finish`` it, the heartbeat stops then."""

    path: Path
    holder: dict[str, Any]
    previous: Seen | None = None  # the dead or failed claim this one replaced (its work dir may be resumed)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def start_heartbeat(self) -> None:
        """Touch the claim every ``HEARTBEAT_S`` from a daemon thread, so other hosts see it alive."""
        def beat() -> None:
            while not self._stop.wait(HEARTBEAT_S):
                try:
                    os.utime(self.path)
                except OSError:
                    pass  # a missed beat only ages the claim
        threading.Thread(target=beat, name="tim-bench-claim-heartbeat", daemon=True).start()

    def update(self, **changes: Any) -> None:
        """Rewrite this claim (still running) with more details, e.g. its work dir."""
        self.holder.update(changes)
        _write_claim(self.path, self.holder, replace=True)

    def finish(self, status: str, **details: Any) -> None:
        """Mark the claim ``done`` (with the run id) or ``failed`` (with the error): a failed pair may be claimed
        again, a done one is not (except by a ``--rerun``)."""
        self._stop.set()
        self.holder.update(status=status, finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                           **details)
        _write_claim(self.path, self.holder, replace=True)


@dataclass(frozen=True)
class Refused:
    """A pair this process must not run: another live process holds it, or it is done."""

    seen: Seen

    @property
    def done(self) -> bool:
        return self.seen.status == DONE


def try_claim(store: str | Path, recipe: str, seed: int, info: dict[str, Any], rerun: bool = False
              ) -> Claim | Refused:
    """Claim (recipe, seed) for this process, or say who holds it.

    The newest claim decides: none, ``failed`` or dead: this process creates the next generation (only one of
    several contenders can; the others look again); ``running`` and alive, or ``done`` (unless ``rerun``): refused.
    """
    folder = claims_dir(store, recipe, seed)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TimBenchError(f"Cannot create the claims folder {folder} in the results store ({exc.strerror}); "
                            f"fix its permissions or give another --results-dir.") from None
    while True:
        gen, newest = _newest(folder)
        if newest is not None and _holds(newest, rerun):
            return Refused(newest)
        if gen + 1 >= GENERATIONS:
            raise TimBenchError(f"{folder} holds {GENERATIONS} claims of one run; clean it up.")
        path = claim_path(folder, gen + 1)
        if _write_claim(path, info, replace=False):
            claim = Claim(path, dict(info), newest)
            claim.start_heartbeat()
            return claim


def _holds(seen: Seen, rerun: bool) -> bool:
    """Whether a pair's newest claim keeps others off: its holder is running and alive, or it is done (unless
    ``rerun``)."""
    if seen.status == RUNNING:
        return dead_reason(seen.holder, seen.age_s) is None
    return seen.status == DONE and not rerun


def _write_claim(path: Path, content: dict[str, Any], replace: bool) -> bool:
    """Write a claim file atomically (a reader sees all of it or none, NFS included): ``replace`` rewrites the
    holder's own file; otherwise the file is created only where none exists. True when written."""
    try:
        with atomic_path(path, exclusive=not replace) as tmp:
            tmp.write_text(json.dumps(content))
    except FileExistsError:
        return False
    return True
