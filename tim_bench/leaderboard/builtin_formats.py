"""The built-in leaderboard formats as ``FORMATS`` entries: terminal, md, csv, latex and html.

Each renderer imports its module when first used, so loading the plugins (which registers these)
never pays for tabulate's or matplotlib's import.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tim_bench_registry import FORMATS, LeaderboardFormat


def _terminal(tables: Sequence[Any], folder: Path) -> str:
    from .formats import render_terminal
    return render_terminal(tables)


def _markdown(tables: Sequence[Any], folder: Path) -> str:
    from .formats import render_markdown
    return render_markdown(tables)


def _csv(tables: Sequence[Any], folder: Path) -> str:
    from .formats import render_csv
    return render_csv(tables)


def _latex(tables: Sequence[Any], folder: Path) -> str:
    from .formats import render_latex
    return render_latex(tables)


def _html(tables: Sequence[Any], folder: Path) -> str:
    from .html import render_html_page
    return render_html_page(tables, folder)


BUILTIN_FORMATS = (
    LeaderboardFormat("terminal", _terminal, None, "plain text, best marked *"),
    LeaderboardFormat("md", _markdown, "README.md", "markdown"),
    LeaderboardFormat("csv", _csv, "leaderboard.csv", "every row, full precision"),
    LeaderboardFormat("latex", _latex, "leaderboard.tex", "booktabs tables"),
    LeaderboardFormat("html", _html, "index.html", "sortable page linking run pictures"),
)
for _fmt in BUILTIN_FORMATS:
    FORMATS.register(_fmt.name, _fmt)
