"""The HTML leaderboard: one self-contained page (inline CSS and JS, no network), sortable tables.

Clicking a column heading sorts the measured rows of that table (metrics best first, text A-Z;
a second click reverses); reference rows stay in their own block above and never mix with runs.
Each measured row links the pictures in its runs' work dirs (``plots.run_plot_files``).
"""
from __future__ import annotations

import html
import os
from collections.abc import Sequence
from pathlib import Path

from .formats import LEGEND, cell_text, headers, notes
from .plots import run_plot_files, write_run_plots
from .tables import Row, Table

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 0.5em 0; font-size: 0.9em; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
th { cursor: pointer; background: #f3f3f3; user-select: none; }
th[aria-sort="descending"]::after { content: " \\25BE"; }
th[aria-sort="ascending"]::after { content: " \\25B4"; }
td.text, th.text { text-align: left; }
td.links { white-space: normal; min-width: 24em; font-size: 0.85em; }
tbody.reference td { color: #555; font-style: italic; background: #fafaf0; }
td.best { font-weight: bold; }
.delta { color: #777; font-size: 0.85em; }
ul.notes { font-size: 0.8em; color: #555; }
"""

# Sorting: numbers from data-value (missing cells last either way), text with localeCompare.
_SCRIPT = """
document.querySelectorAll("table.leaderboard").forEach(function (table) {
  var heads = table.querySelectorAll("thead th");
  heads.forEach(function (th, col) {
    th.addEventListener("click", function () {
      var numeric = th.dataset.type === "number";
      var first = numeric ? "descending" : "ascending";
      var dir = th.getAttribute("aria-sort") === first ? (numeric ? "ascending" : "descending") : first;
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir);
      var body = table.querySelector("tbody.measured");
      var rows = Array.prototype.slice.call(body.rows);
      var sign = dir === "ascending" ? 1 : -1;
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.value, y = b.cells[col].dataset.value;
        if (numeric) {
          var missX = x === undefined || x === "", missY = y === undefined || y === "";
          if (missX || missY) { return missX - missY; }
          return sign * (parseFloat(x) - parseFloat(y));
        }
        return sign * a.cells[col].textContent.localeCompare(b.cells[col].textContent);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def _links(row: Row, base: Path) -> str:
    parts = []
    for record in row.runs:
        files = run_plot_files(record)
        if files:
            links = " ".join(f'<a href="{html.escape(Path(os.path.relpath(f, base)).as_posix())}">'
                             f"{html.escape(f.stem)}</a>" for f in files)
            parts.append(f"seed {html.escape(str(record['seed']))}: {links}")
    return "<br>".join(parts)


def _row_html(table: Table, row: Row, base: Path) -> str:
    cells = [f'<td class="text">{html.escape(row.label)}</td>', f'<td class="text">{html.escape(row.scored_on)}</td>',
             f'<td class="text">{html.escape(",".join(map(str, row.seeds)))}</td>']
    for m in table.metrics:
        cell = row.cells.get(m)
        value = "" if cell is None or cell.mean is None else repr(cell.mean)
        # cell text is digits, signs and "±" only, so it needs no escaping
        text = cell_text(cell, wrap_delta=lambda s: f'<span class="delta">{s}</span>')
        best = ' class="best"' if cell is not None and cell.best else ""
        cells.append(f'<td data-value="{value}"{best}>{text}</td>')
    cells.append(f'<td class="text links">{_links(row, base)}</td>')
    return "<tr>" + "".join(cells) + "</tr>"


def render_html(tables: Sequence[Table], base: str | Path) -> str:
    """The page; picture links are relative to ``base``, the folder the page is written to."""
    base = Path(base).resolve()
    sections = []
    for table in tables:
        heads = headers(table)
        ths = "".join(f'<th class="text" data-type="text">{html.escape(h)}</th>' for h in heads[:3])
        ths += "".join(f'<th data-type="number" title="{html.escape(m)}">{html.escape(h)}</th>'
                       for m, h in zip(table.metrics, heads[3:]))
        ths += '<th class="text" data-type="text">pictures</th>'
        # published and chance rows stay above the sortable runs: they are not measured here
        ref_rows = "".join(_row_html(table, r, base) for r in (*table.reference_rows, *table.chance_rows))
        runs = "".join(_row_html(table, r, base) for r in table.measured_rows)
        note_items = "".join(f"<li>{html.escape(n)}</li>" for n in notes(table))
        sections.append(
            f'<section id="{html.escape(table.spec.name)}"><h2>{html.escape(table.spec.title)} '
            f"<small>({html.escape(table.spec.name)})</small></h2>"
            f'<table class="leaderboard" data-dataset="{html.escape(table.spec.name)}">'
            f"<thead><tr>{ths}</tr></thead><tbody class=\"reference\">{ref_rows}</tbody>"
            f'<tbody class="measured">{runs}</tbody></table><ul class="notes">{note_items}</ul></section>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>tim-bench leaderboard</title>"
            f"<style>{_STYLE}</style></head><body><h1>tim-bench leaderboard</h1>"
            f"<p>{html.escape(LEGEND.format(best='bold'))} Click a column heading to sort the runs.</p>"
            + "\n".join(sections) + f"<script>{_SCRIPT}</script></body></html>\n")


def render_html_page(tables: Sequence[Table], folder: Path) -> str:
    """The HTML page; every run in it whose work dir exists but has no pictures yet gets them first, so the
    page's links resolve."""
    for row in (r for t in tables for r in t.measured_rows):
        for record in row.runs:
            if record.get("work_dir") and Path(record["work_dir"]).is_dir() and not run_plot_files(record):
                write_run_plots(record)
    return render_html(tables, folder)
