"""Write leaderboard tables in one registered format (``FORMATS``), to its default file, a chosen file, or stdout.

The built-in formats (terminal, md, csv, latex, html) are registered by ``builtin_formats``; a plugin
adds its own to ``FORMATS`` with a ``LeaderboardFormat``.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from tim_bench_registry import FORMATS, lookup

from ..io import write_atomic
from . import builtin_formats  # noqa: F401  (registers the built-in FORMATS entries)
from .errors import LeaderboardError
from .tables import Table


def publish(tables: Sequence[Table], fmt: str, out: str | Path | None = None) -> Path | None:
    """Render ``tables`` in the format named ``fmt`` and write them to ``out`` (``-``: stdout; None: the
    format's default file). Returns the file written, or None for stdout."""
    form = lookup(FORMATS, fmt)
    if out is None:
        out = form.default_out
    target = None if out in (None, "-") else Path(out)
    text = form.render(tables, target.parent if target else Path.cwd())
    if target is None:
        sys.stdout.write(text)
        return None
    try:
        return write_atomic(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as exc:
        raise LeaderboardError(f"Cannot write the leaderboard to {target} ({exc.strerror or exc}); pass --out with "
                               f"a writable file, or --out - for stdout.") from None
