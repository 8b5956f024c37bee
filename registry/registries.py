"""The registries every tim-bench component is registered in, and the one `build` that reads them.

Each registry is an mmengine ``Registry`` with the explicit scope ``tim_bench`` so that
lookups never depend on the caller's stack (mmengine's most reported failure).

>>> from tim_bench_registry import HEADS
>>> sorted(HEADS.module_dict)  # doctest: +SKIP
['LinearHead']
"""
from __future__ import annotations

import difflib
import warnings
from collections.abc import Mapping
from typing import Any

from mmengine.registry import Registry

from .errors import UnknownPluginError

SCOPE = "tim_bench"

DATASETS = Registry("dataset", scope=SCOPE)
FEATURES = Registry("feature", scope=SCOPE)
HEADS = Registry("head", scope=SCOPE)
MODELS = Registry("model", scope=SCOPE)
METRICS = Registry("metric", scope=SCOPE)
WRITERS = Registry("writer", scope=SCOPE)

#: Every registry by its plural name, in the order `tim-bench plugins` prints them.
REGISTRIES: Mapping[str, Registry] = {
    "datasets": DATASETS,
    "features": FEATURES,
    "heads": HEADS,
    "models": MODELS,
    "metrics": METRICS,
    "writers": WRITERS,
}


#: (registry name, old name) -> new name: renamed entries keep old configs working, with a warning.
_RENAMED: dict[tuple[str, str], str] = {}


def register_rename(registry: Registry, old: str, new: str) -> None:
    """Let configs keep using ``old`` for the entry now registered as ``new`` (as timm maps renamed models)."""
    _RENAMED[(registry.name, old)] = new


def lookup(registry: Registry, name: str) -> type:
    """Return the class registered as ``name``; a renamed one warns, an unknown one lists what exists."""
    if (registry.name, name) in _RENAMED:
        new = _RENAMED[(registry.name, name)]
        warnings.warn(f"{registry.name} '{name}' was renamed to '{new}'; update the config.", DeprecationWarning,
                      stacklevel=2)
        name = new
    obj = registry.get(name)
    if obj is None:  # plugins register on import: load them all once, then look again
        from .plugin_manager import plugin_manager
        plugin_manager()
        obj = registry.get(name)
    if obj is not None:
        return obj
    known = sorted(registry.module_dict)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise UnknownPluginError(
        f"No {registry.name} plugin named '{name}'.{hint} Registered {registry.name} plugins: "
        f"{', '.join(known) or '(none)'}. A third-party plugin must be installed with an entry "
        f"point in the 'tim_bench' group or listed in the config's custom_imports."
    )


def build(registry: Registry, cfg: Mapping[str, Any], **default_args: Any) -> Any:
    """Build the component named by ``cfg['type']``; ``default_args`` fill keys cfg leaves out."""
    if "type" not in cfg:
        raise UnknownPluginError(f"A {registry.name} config needs a 'type' key; got keys {sorted(cfg)}.")
    kwargs = {k: v for k, v in cfg.items() if k != "type"}
    for key, value in default_args.items():
        kwargs.setdefault(key, value)
    cls = lookup(registry, cfg["type"])
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # wrong or inconsistent arguments: say which component and keys
        raise UnknownPluginError(
            f"Could not build {registry.name} '{cfg['type']}' from config keys {sorted(kwargs)}: {exc}"
        ) from exc
