"""tim-bench's per-user folders, as platformdirs places them: data ``~/.local/share/tim-bench`` and cache
``~/.cache/tim-bench`` on Linux (``$XDG_DATA_HOME`` / ``$XDG_CACHE_HOME`` when set), the platform's own elsewhere."""
from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "tim-bench"


def user_data_dir() -> Path:
    """The per-user data folder (the results store and the leaderboard pages live under it)."""
    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def user_cache_dir() -> Path:
    """The per-user cache folder (downloaded weights, data fingerprints): safe to delete."""
    return Path(platformdirs.user_cache_dir(APP, appauthor=False))
