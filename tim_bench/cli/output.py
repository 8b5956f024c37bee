"""Printing results for people: one small table."""
from __future__ import annotations

from tabulate import tabulate


def print_metrics(metrics: dict[str, float], title: str = "") -> None:
    if title:
        print(title)
    print(tabulate([(k, f"{v:.2f}") for k, v in metrics.items()], headers=["metric", "value"]))
