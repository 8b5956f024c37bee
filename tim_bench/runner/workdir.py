"""Run folders: a new dated folder per run by default, an exclusive lock while a process trains in one,
and the checks made before training (a finished run there, writable folders, leftovers of killed writes)."""
from __future__ import annotations

import json
import logging
import os
import re
import secrets
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tim_bench_registry import TimBenchError

from ..io import TMP_PREFIX, TMP_SUFFIX, check_writable, remove_orphaned_tmp
from ..outputs import check_output_folder, mark_output_folder

log = logging.getLogger("tim_bench")
RUNS_ROOT = Path("work_dirs")
STAMP = "%Y%m%d_%H%M%S"
STAMP_RE = re.compile(r"^(\d{8}_\d{6})(?:_(\d+))?$")
LOCK, RESULT, LAST, BEST, CONFIG = "tim-bench.lock", "result.json", "last.pth", "best.pth", "config.py"
#: Files a training run writes; a fresh run refuses to start among another run's copies of them.
RUN_FILES = ("best*.pth", LAST, RESULT, "metrics.jsonl", "predictions_*.npz")
#: The tim_bench.outputs kind of a work dir; run folders written before the marker are known by their files.
OUTPUT_KIND = "run"
RUN_SIGNS = (*RUN_FILES, LOCK, "test_*.json", *(f"{TMP_PREFIX}{name}.*{TMP_SUFFIX}" for name in RUN_FILES))


def resolved_config(cfg: Any) -> dict[str, Any]:
    """The config as it ran, without the engine's internal ``_keys`` (config.py of the work dir, the record's
    ``config``, the ``config`` a checkpoint carries)."""
    return {k: v for k, v in cfg.to_dict().items() if not k.startswith("_")}


@dataclass
class Inputs:
    """What `test` and `predict` read: a config and a checkpoint, and the run folder they came from (if any)."""

    config: str | Path
    checkpoint: Path
    run_dir: Path | None = None


def resolve_inputs(config: str | Path, checkpoint: str | Path | None) -> Inputs:
    """CONFIG CHECKPOINT as given, or a run folder alone standing for its resolved config.py and its best.pth
    (so a run trained with overrides is tested without typing them again)."""
    folder = Path(config)
    if folder.is_dir():
        if not (folder / CONFIG).is_file():
            raise TimBenchError(f"{folder} is a folder without {CONFIG}; pass a run folder tim-bench wrote "
                                f"(work_dirs/<config>/<time>) or a config file.")
        return Inputs(folder / CONFIG, Path(checkpoint) if checkpoint else folder / BEST, folder)
    if checkpoint is None:
        raise TimBenchError(f"No CHECKPOINT given with config {config}; pass CONFIG CHECKPOINT, or a run folder "
                            f"alone (e.g. work_dirs/ave_vgg/<time>) to use its config.py and best.pth.")
    return Inputs(config, Path(checkpoint))


def config_runs_root(cfg: Any) -> Path:
    """``work_dirs/<config>``: the config's run folders and its shared window cache live here."""
    return RUNS_ROOT / cfg["_name"]


def new_run_dir(root: Path) -> Path:
    """Create ``root/<YYYYmmdd_HHMMSS>`` (``_1``, ``_2`` ... when another run took that second), exclusively."""
    check_writable(root, "work dir root")
    stamp = datetime.now().strftime(STAMP)
    for n in range(10_000):
        path = root / (stamp if n == 0 else f"{stamp}_{n}")
        try:
            path.mkdir()
            return mark_output_folder(path, OUTPUT_KIND)
        except FileExistsError:
            continue
    raise TimBenchError(f"{root} already holds 10000 run folders named {stamp}*; clean it up.")


def _stamp_key(path: Path) -> tuple[str, int]:
    match = STAMP_RE.match(path.name)
    assert match is not None
    return match.group(1), int(match.group(2) or 0)


#: Whether the results store holds a finished run's record (None: the command records nothing)
Recorded = Callable[[dict[str, Any]], bool]


def _finished_record(work_dir: Path) -> dict[str, Any]:
    """The run record in ``work_dir``'s result.json ({} when it cannot be read)."""
    try:
        record = json.loads((work_dir / RESULT).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def unrecorded(work_dir: Path, recorded: Recorded | None) -> bool:
    """Whether ``work_dir`` holds a finished run (result.json) that the results store lacks: a run killed between
    writing result.json and storing its record."""
    if recorded is None or not (work_dir / RESULT).is_file():
        return False
    record = _finished_record(work_dir)
    return bool(record.get("run_id")) and not recorded(record)


def latest_unfinished(root: Path, recorded: Recorded | None = None) -> Path | None:
    """The newest run folder under ``root`` with a resume point (last.pth) and no result.json, or (given
    ``recorded``) with a result.json whose record the results store lacks."""
    if not root.is_dir():
        return None
    runs = [p for p in root.iterdir() if p.is_dir() and STAMP_RE.match(p.name) and (p / LAST).is_file()
            and (not (p / RESULT).exists() or unrecorded(p, recorded))]
    return max(runs, key=_stamp_key) if runs else None


def choose_work_dir(cfg: Any, work_dir: str | Path | None, resume: bool, recorded: Recorded | None = None) -> Path:
    """``--work-dir`` (or the config's ``work_dir``) exactly; else a new run folder, or with ``resume`` the
    latest unfinished one of the config (see ``latest_unfinished``)."""
    explicit = work_dir or cfg.get("work_dir")
    if explicit:  # never a folder of other files (a dataset, a source tree): run files would land among them
        check_output_folder(explicit, OUTPUT_KIND, option="work dir", also_marked_by=RUN_SIGNS)
        return mark_output_folder(check_writable(explicit, "work dir"), OUTPUT_KIND)
    root = config_runs_root(cfg)
    if resume:
        latest = latest_unfinished(root, recorded)
        if latest is not None:
            log.info("--resume: continuing the latest unfinished run of %s: %s", cfg["_name"], latest)
            return latest
        log.info("--resume: %s holds no unfinished run (last.pth without result.json); starting a new one", root)
    return new_run_dir(root)


def _start_time(pid: int) -> str | None:
    """The kernel's start time of process ``pid`` (tells a reused pid from the original), None where unknown."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(holder: dict[str, Any]) -> bool:
    """Whether the process that wrote ``holder`` still runs (only decidable on this host)."""
    if holder.get("host") != socket.gethostname():
        return True
    pid = int(holder.get("pid", -1))
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's live process
    started = holder.get("pid_start")
    return started is None or _start_time(pid) in (None, started)


def _read(lock: Path) -> dict[str, Any] | None:
    try:
        holder = json.loads(lock.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"pid": -1, "host": socket.gethostname(), "unreadable": True}  # not ours to trust: stale
    return holder if isinstance(holder, dict) else {"pid": -1, "host": socket.gethostname()}


def _describe(holder: dict[str, Any]) -> str:
    return (f"pid {holder.get('pid')} on host {holder.get('host')}, `{holder.get('command', '?')}` since "
            f"{holder.get('started', '?')}")


@dataclass
class WorkDirLock:
    """An exclusive claim on a work dir: the file ``WORK_DIR/tim-bench.lock`` naming this process."""

    path: Path
    token: str

    def release(self) -> None:
        """Remove the lock file if it is still this process's."""
        holder = _read(self.path)
        if holder is not None and holder.get("token") == self.token:
            self.path.unlink(missing_ok=True)


def acquire_lock(work_dir: Path, command: str) -> WorkDirLock:
    """Claim ``work_dir`` for this process or refuse at once, naming the process that holds it.

    The lock file appears with its content in one step (written to a temporary file, then ``os.link``,
    which like ``O_EXCL`` fails when the name exists), so no reader ever sees an empty lock. A lock
    whose process is dead on this host is taken over with a warning.
    """
    lock = work_dir / LOCK
    token = secrets.token_hex(8)
    info = {"pid": os.getpid(), "host": socket.gethostname(), "started": datetime.now().isoformat(timespec="seconds"),
            "command": command, "pid_start": _start_time(os.getpid()), "token": token}
    for _ in range(5):
        # not *.tmp: the orphan clean-up of a locked work dir must never take a contender's half-made lock
        fd, tmp = tempfile.mkstemp(prefix=f".{LOCK}.", suffix=".new", dir=work_dir)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(info))
            os.link(tmp, lock)
            return WorkDirLock(lock, token)
        except FileExistsError:
            holder = _read(lock)
        finally:
            os.unlink(tmp)
        if holder is None:
            continue  # released between our two calls
        if _alive(holder):
            raise TimBenchError(f"{work_dir} is in use by another tim-bench process ({_describe(holder)}); wait "
                                f"for it to end or use another --work-dir. If that process is gone, delete {lock}.")
        _take_over(lock, holder)
    raise TimBenchError(f"Could not lock {work_dir}: {lock} keeps changing hands; is another tim-bench starting there?")


def _take_over(lock: Path, holder: dict[str, Any]) -> None:
    """Remove the stale ``lock`` of ``holder``; one that changed meanwhile (a live newcomer) is put back."""
    aside = lock.with_name(f".{LOCK}.stale-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return
    moved = _read(aside)
    if moved != holder:  # another process replaced the stale lock first: it is that process's now
        try:
            os.link(aside, lock)
        except FileExistsError:
            pass
    else:
        log.warning("warning: %s was left by a process that no longer runs (%s); taking it over.", lock,
                    _describe(holder))
    aside.unlink(missing_ok=True)


def check_reuse(work_dir: Path, digest: str, resume: bool, overwrite: bool, recorded: Recorded | None = None) -> None:
    """Refuse to train where another run's files are, unless resuming it or ``overwrite`` (then clear them).

    ``--resume`` of a finished run whose record the results store lacks (``recorded``) passes: the run only
    needs its record written (``unrecorded``)."""
    if resume and overwrite:
        raise TimBenchError("--resume continues a run and --overwrite starts one afresh; pass only one.")
    result = work_dir / RESULT
    if result.is_file():
        record = _finished_record(work_dir)
        run_id, old = record.get("run_id", "?"), str(record.get("config_hash", "?"))
        if resume and unrecorded(work_dir, recorded):
            if old != digest:
                raise TimBenchError(f"{work_dir} holds a finished run ({run_id}) of a different config (hash "
                                    f"{old[:12]}; this one {digest[:12]}) that the results store lacks: --resume has "
                                    f"nothing to continue with this config; to record that run, resume it with its "
                                    f"own config and overrides (see {work_dir / 'config.py'}).")
            return
        if resume:
            raise TimBenchError(f"{work_dir} holds a finished run ({run_id}, see {result}); --resume has nothing "
                                f"to continue and would record the same model twice. Leave out --resume (and "
                                f"--work-dir) for a new run, or pass --overwrite to train this one again.")
        if not overwrite:
            what = "a different config" if old != digest else "this config"
            raise TimBenchError(f"{work_dir} holds a finished run of {what} ({run_id}, config hash {old[:12]}; "
                                f"this one {digest[:12]}) whose record points at its files; leave out --work-dir "
                                f"(each run gets its own folder), choose another, or pass --overwrite to replace it.")
    leftovers = sorted(p.name for pattern in RUN_FILES for p in work_dir.glob(pattern))
    if leftovers and not resume:
        if not overwrite:
            raise TimBenchError(f"{work_dir} holds files of an earlier run ({', '.join(leftovers)}); pass --resume "
                                f"to continue it, --overwrite to start again there, or use another --work-dir.")
        log.warning("warning: --overwrite: removing %s from %s before training.", ", ".join(leftovers), work_dir)
        for name in leftovers:
            (work_dir / name).unlink()


def clean_leftovers(work_dir: Path) -> None:
    """Remove temporary files that killed writes left in the (locked) work dir."""
    removed = remove_orphaned_tmp(work_dir)
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted write in %s: %s", len(removed), work_dir,
                 ", ".join(p.name for p in removed))
