"""File helpers of the engine: hashes, writability probes, clean-up; the atomic writers live in the registry."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from tim_bench_registry import TimBenchError
from tim_bench_registry.files import (NO_SPACE, TMP_PREFIX, TMP_SUFFIX, atomic_path, current_umask,  # noqa: F401
                                      write_atomic,
                                      write_json, write_npy)


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks: what a run record stores to prove its files are its own."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def probe_writable(folder: Path) -> None:
    """Create ``folder`` if needed and write (then remove) a probe file in it; the OSError is the caller's to word."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, probe = tempfile.mkstemp(prefix=f"{TMP_PREFIX}write-probe.", suffix=TMP_SUFFIX, dir=folder)
    os.close(fd)
    os.unlink(probe)


def check_writable(folder: str | Path, what: str) -> Path:
    """Create ``folder`` if needed and prove a file can be written in it, before any long work starts."""
    folder = Path(folder)
    try:
        probe_writable(folder)
    except FileExistsError as exc:
        raise TimBenchError(f"The {what} {folder} cannot be created: {exc.filename} exists and is not a folder; "
                            f"choose another path.") from exc
    except NotADirectoryError as exc:
        raise TimBenchError(f"The {what} {folder} cannot be created: a part of that path is a file, not a folder; "
                            f"choose another path.") from exc
    except OSError as exc:
        reason = "the disk is full" if exc.errno in NO_SPACE else exc.strerror or str(exc)
        raise TimBenchError(f"The {what} {folder} is not writable ({reason}); choose another folder or fix its "
                            f"permissions before training.") from exc
    return folder


def remove_orphaned_tmp(folder: str | Path, min_age_s: float = 0.0, pattern: str = f"{TMP_PREFIX}*{TMP_SUFFIX}"
                        ) -> list[Path]:
    """Delete temporary files (``pattern``) that killed writes left in ``folder``, older than ``min_age_s``.

    Only call it where no other live process writes (e.g. a locked work dir), or with an age that no
    live write reaches.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    now, removed = time.time(), []
    for tmp in folder.glob(pattern):
        try:
            if tmp.is_file() and now - tmp.stat().st_mtime >= min_age_s:
                tmp.unlink()
                removed.append(tmp)
        except FileNotFoundError:
            continue
    return removed
