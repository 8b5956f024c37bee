"""Write leaderboard tables in one registered format (``FORMATS``), to its default file, a chosen file, or stdout.

The built-in formats (terminal, md, csv, latex, html) are registered by ``builtin_formats``; a plugin adds its
own to ``FORMATS`` with a ``LeaderboardFormat`` (its ``default_out`` is a file name). The folder of the default
files, first that applies: ``--out-dir``, ``$TIM_BENCH_LEADERBOARD``, else ``leaderboard`` in the per-user data
folder beside the results store (``~/.local/share/tim-bench/leaderboard`` on Linux). Never the current directory.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tim_bench_registry import FORMATS, lookup

from ..io import write_atomic
from . import builtin_formats  # noqa: F401  (registers the built-in FORMATS entries)
from .errors import LeaderboardError
from ..user_dirs import user_data_dir
from .tables import Table

#: Environment variable naming the folder the file formats go to when no --out or --out-dir is given.
LEADERBOARD_ENV = "TIM_BENCH_LEADERBOARD"


def default_leaderboard_dir() -> Path:
    """``$TIM_BENCH_LEADERBOARD``, else ``leaderboard`` in the per-user data folder (``user_dirs.user_data_dir``)."""
    if os.environ.get(LEADERBOARD_ENV):
        return Path(os.environ[LEADERBOARD_ENV]).expanduser().absolute()
    return user_data_dir() / "leaderboard"


def publish(tables: Sequence[Table], fmt: str, out: str | Path | None = None,
            out_dir: str | Path | None = None) -> Path | None:
    """Render ``tables`` in the format named ``fmt`` and write them to ``out`` (``-``: stdout; None: the format's
    default file in ``out_dir``, else in ``default_leaderboard_dir()``; a format without a file: stdout).
    Returns the file written, or None for stdout."""
    form = lookup(FORMATS, fmt)
    if out is None and form.default_out is not None:
        folder = Path(out_dir).absolute() if out_dir is not None else default_leaderboard_dir()
        out = folder / form.default_out
    target = None if out in (None, "-") else Path(out)
    text = form.render(tables, target.parent if target else Path.cwd())
    if target is None:
        sys.stdout.write(text)
        return None
    try:
        return write_atomic(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except (NotADirectoryError, FileExistsError):
        raise LeaderboardError(f"Cannot write the leaderboard to {target}: {target.parent} (or a folder above it) is a "
                               f"file, not a folder; pass --out-dir a folder, --out a file, or --out - for stdout.") from None
    except OSError as exc:
        raise LeaderboardError(f"Cannot write the leaderboard to {target} ({exc.strerror or exc}); pass --out with "
                               f"a writable file, or --out - for stdout.") from None
