"""Write leaderboard tables in one format, to the default file of that format, a chosen file, or stdout."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from ..io import write_atomic
from .formats import render_csv, render_latex, render_markdown, render_terminal
from .errors import LeaderboardError
from .html import render_html
from .plots import run_plot_files, write_run_plots
from .tables import Table

FORMATS: tuple[str, ...] = ("terminal", "md", "csv", "latex", "html")
#: Where each file format goes when no ``--out`` is given (relative to the current directory).
DEFAULT_OUT: dict[str, Path] = {"md": Path("leaderboard/README.md"), "csv": Path("leaderboard/leaderboard.csv"),
                                "latex": Path("leaderboard/leaderboard.tex"), "html": Path("leaderboard/index.html")}


def publish(tables: Sequence[Table], fmt: str, out: str | Path | None = None) -> Path | None:
    """Render ``tables`` as ``fmt`` and write them to ``out`` (``-``: stdout; None: the format's default).

    Returns the file written, or None for stdout. Before an HTML page is written, every run in it
    whose work dir exists but has no pictures yet gets them, so the page's links resolve.
    """
    if out is None and fmt != "terminal":
        out = DEFAULT_OUT[fmt]
    target = None if out in (None, "-") else Path(out)
    if fmt == "html":
        for row in (r for t in tables for r in t.measured_rows):
            for record in row.runs:
                if record.get("work_dir") and Path(record["work_dir"]).is_dir() and not run_plot_files(record):
                    write_run_plots(record)
        text = render_html(tables, target.parent if target else Path.cwd())
    else:
        text = {"terminal": render_terminal, "md": render_markdown, "csv": render_csv,
                "latex": render_latex}[fmt](tables)
    if target is None:
        sys.stdout.write(text)
        return None
    try:
        return write_atomic(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as exc:
        raise LeaderboardError(f"Cannot write the leaderboard to {target} ({exc.strerror or exc}); pass --out with "
                               f"a writable file, or --out - for stdout.") from None
