"""Atomic file writes: a reader never sees a half-written output."""
from __future__ import annotations

import errno
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from tim_bench_registry import TimBenchError

#: errno values that mean "the disk is full", answered with one sentence naming the path.
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
#: errno values that mean "this folder cannot be written".
NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)
#: Prefix and suffix of the temporary files ``atomic_path`` creates (a killed write leaves one behind).
TMP_PREFIX, TMP_SUFFIX = ".", ".tmp"


def current_umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path, exclusive: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it to ``path`` only if the block succeeds.

    With ``exclusive`` an existing ``path`` is never replaced: ``os.link`` is atomic and raises
    FileExistsError where a rename would silently overwrite.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp's 0600 would make outputs private to this user
        yield Path(tmp)
        if exclusive:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
    except OSError as exc:
        raise _write_error(exc, path) or exc
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def _write_error(exc: OSError, path: Path) -> TimBenchError | None:
    """One sentence for a full disk or an unwritable folder (the previous ``path`` is kept); None otherwise."""
    if exc.errno in NO_SPACE:
        return TimBenchError(f"no space left on {path.parent} while writing {path}; the previous {path.name} (if "
                             f"any) is kept. Free some space and run again.")
    if exc.errno in NOT_WRITABLE:
        return TimBenchError(f"cannot write {path}: {path.parent} is not writable ({exc.strerror}); choose "
                             f"another folder or fix its permissions.")
    return None


def write_atomic(path: str | Path, writer: Callable[[Path], Any]) -> Path:
    """Call ``writer(tmp_path)`` and move the result to ``path`` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    return write_atomic(path, lambda p: p.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n"))


def write_npy(path: str | Path, values: Any) -> Path:
    """Save one array as ``.npy`` atomically (creating its folder)."""
    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.save(f, values)
    return write_atomic(path, _write)


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks: what a run record stores to prove its files are its own."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_writable(folder: str | Path, what: str) -> Path:
    """Create ``folder`` if needed and prove a file can be written in it, before any long work starts."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f"{TMP_PREFIX}write-probe.", suffix=TMP_SUFFIX, dir=folder)
        os.close(fd)
        os.unlink(probe)
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
