"""A dataset's leaderboard spec (which metrics its table shows): the one its benchmark plugin registered in
``LEADERBOARDS`` (from the plugin's ``leaderboard.py``), else a default."""
from __future__ import annotations

from collections.abc import Iterable

from tim_bench_registry import LEADERBOARDS, LeaderboardSpec, plugin_manager


def leaderboard_spec(dataset: str, present: Iterable[str] = (), main_metric: str | None = None) -> LeaderboardSpec:
    """The registered spec of ``dataset``; an unregistered one shows its main metric, then the rest by name."""
    plugin_manager()  # benchmark plugins register their specs when they load
    spec = LEADERBOARDS.get(dataset)
    if spec is not None:
        return spec
    rest = sorted(set(present) - {main_metric})
    return LeaderboardSpec(dataset, dataset, ((main_metric,) if main_metric else ()) + tuple(rest))
