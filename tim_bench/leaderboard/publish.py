"""Write leaderboard tables in one format, to the default file of that format, a chosen file, or stdout.

The default folder, first that applies: ``--out-dir``, ``$TIM_BENCH_LEADERBOARD``, else ``leaderboard`` in the
per-user data folder beside the results store (``~/.local/share/tim-bench/leaderboard`` on Linux). Never relative
to the current directory.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ..io import write_atomic
from .formats import render_csv, render_latex, render_markdown, render_terminal
from .errors import LeaderboardError
from .html import render_html
from .plots import run_plot_files, write_run_plots
from .store import user_data_dir
from .tables import Table

FORMATS: tuple[str, ...] = ("terminal", "md", "csv", "latex", "html")
#: Environment variable naming the folder the file formats go to when no --out or --out-dir is given.
LEADERBOARD_ENV = "TIM_BENCH_LEADERBOARD"
#: The file each file format writes in that folder.
DEFAULT_NAMES: dict[str, str] = {"md": "README.md", "csv": "leaderboard.csv", "latex": "leaderboard.tex",
                                 "html": "index.html"}


def default_leaderboard_dir() -> Path:
    """``$TIM_BENCH_LEADERBOARD``, else ``leaderboard`` in the per-user data folder (``store.user_data_dir``)."""
    if os.environ.get(LEADERBOARD_ENV):
        return Path(os.environ[LEADERBOARD_ENV]).expanduser().absolute()
    return user_data_dir() / "leaderboard"


def publish(tables: Sequence[Table], fmt: str, out: str | Path | None = None,
            out_dir: str | Path | None = None) -> Path | None:
    """Render ``tables`` as ``fmt`` and write them to ``out`` (``-``: stdout; None: the format's default file in
    ``out_dir``, else in ``default_leaderboard_dir()``; the terminal format: stdout).

    Returns the file written, or None for stdout. Before an HTML page is written, every run in it
    whose work dir exists but has no pictures yet gets them, so the page's links resolve.
    """
    if out is None and fmt != "terminal":
        out = Path(out_dir).absolute() if out_dir is not None else default_leaderboard_dir()
        out = out / DEFAULT_NAMES[fmt]
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
