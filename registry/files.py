"""Atomic file writes for plugins and the engine alike: a reader never sees a half-written output."""
from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import TimBenchError

#: errno values that mean "the disk is full", answered with one sentence naming the path.
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
#: errno values that mean "this folder cannot be written".
_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)
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
    if exc.errno in _NOT_WRITABLE:
        return TimBenchError(f"cannot write {path}: {path.parent} is not writable ({exc.strerror}); choose "
                             f"another folder or fix its permissions.")
    return None


def write_atomic(path: str | Path, writer: Callable[[Path], object]) -> Path:
    """Call ``writer(tmp_path)`` and move the result to ``path`` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    return write_atomic(path, lambda p: p.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n"))


def write_npy(path: str | Path, values: npt.ArrayLike) -> Path:
    """Save one array as ``.npy`` atomically (creating its folder)."""
    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.save(f, values)
    return write_atomic(path, _write)
