"""What distinguishes two runs' configs: the resolved-config keys (dotted, e.g. ``train_cfg.lr``) that differ.

Read from a record's ``config`` (the resolved config, recorded since this version); a record without one has
no diff to show. Where a run writes (``work_dir``, ``results_dir``, ``window_cache``) is not part of what it is.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..config import SPEED_ONLY_KEYS

#: keys that say where a run wrote, not how it trained
WHERE_KEYS = ("work_dir", "results_dir", "window_cache")
#: keys that never change a number (leaderboard groups share them across machines)
SPEED_KEYS = tuple(f"{section}.{key}" for section, keys in SPEED_ONLY_KEYS.items() for key in keys)
ABSENT = "(absent)"


def flat_config(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The record's resolved config as {dotted key: value} (nested mappings flattened), or None when it has none."""
    config = record.get("config")
    if not isinstance(config, Mapping):
        return None
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping) and value:
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            out[prefix] = value
    walk("", config)
    return {k: v for k, v in out.items() if k.split(".")[0] not in WHERE_KEYS}


def show(value: Any) -> str:
    """A config value as short text (JSON for containers and strings)."""
    if value is ABSENT:
        return ABSENT
    return json.dumps(value, default=str) if isinstance(value, (str, list, tuple, dict)) else str(value)


def config_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, str, str]] | None:
    """(key, value in A, value in B) for every key whose value differs, in key order; None when a record has no
    config."""
    fa, fb = flat_config(a), flat_config(b)
    if fa is None or fb is None:
        return None
    keys = sorted(set(fa) | set(fb))
    return [(k, show(fa.get(k, ABSENT)), show(fb.get(k, ABSENT))) for k in keys
            if fa.get(k, ABSENT) != fb.get(k, ABSENT)]


def distinguishing_keys(configs: Sequence[Mapping[str, Any]], ignore: Sequence[str] = ("seed", *SPEED_KEYS)
                        ) -> list[dict[str, str]]:
    """For each flat config, its values of the keys that set it apart (``ignore`` aside): a key whose value most
    configs share (a strict majority) is named only where a config differs from it; a key without such a
    common value is named for every config."""
    keys = sorted(set().union(*configs) - set(ignore)) if configs else []
    shown = [{} for _ in configs]
    for key in keys:
        values = [show(c.get(key, ABSENT)) for c in configs]
        common = max(set(values), key=values.count)
        if len(set(values)) == 1:
            continue
        majority = values.count(common) * 2 > len(values)
        for out, value in zip(shown, values):
            if not majority or value != common:
                out[key] = value
    return shown
