"""Look up and build registered parts by name, loading every plugin first when a name is not yet known (above both
``registries`` and ``plugin_manager``, so neither imports the other)."""
from __future__ import annotations

import difflib
import warnings
from collections.abc import Mapping
from typing import Any, TypeVar, overload

from .conformance import check_object
from .errors import UnknownPluginError
from .plugin_manager import plugin_manager, skipped_plugins
from .catalog import Catalog
from .registries import AnyRegistry, Registry

T = TypeVar("T")

#: (registry name, old name) -> new name: renamed entries keep old configs working, with a warning.
_RENAMED: dict[tuple[str, str], str] = {}


def register_rename(registry: AnyRegistry, old: str, new: str) -> None:
    """Let configs keep using ``old`` for the entry now registered as ``new`` (as timm maps renamed models)."""
    _RENAMED[(registry.name, old)] = new


@overload
def lookup(registry: Registry[T], name: str) -> type[T]: ...


@overload
def lookup(registry: Catalog[T], name: str) -> T: ...


def lookup(registry: AnyRegistry, name: str) -> Any:
    """The entry registered as ``name`` (a class of a ``Registry[T]``, an object of a ``Catalog[T]``); a renamed one
    warns, an unknown one lists what exists."""
    if (registry.name, name) in _RENAMED:
        new = _RENAMED[(registry.name, name)]
        warnings.warn(f"{registry.name} '{name}' was renamed to '{new}'; update the config.", DeprecationWarning,
                      stacklevel=2)
        name = new
    # module_dict, not mmengine's Registry.get: on a miss that imports any module spelt like the name
    obj = registry.module_dict.get(name)
    if obj is None:  # plugins register on import: load them all once, then look again
        plugin_manager()
        obj = registry.module_dict.get(name)
    if obj is not None:
        return obj
    known = sorted(registry.module_dict)
    # a close spelling, else the one name spelt by letters of ``name`` in order from its first ('markdown' -> 'md')
    close = difflib.get_close_matches(name, known, n=1) or \
        [k for k in known if k[:1] == name[:1] and _letters_in_order(k, name)]
    close = close if len(close) == 1 else []
    hint = f" Did you mean '{close[0]}'?" if close else ""
    skipped = skipped_plugins()  # an installed plugin that failed its checks registered nothing: say which
    held_back = " Installed but skipped (their parts are not registered): " + "; ".join(
        f"{entry}: {why}" for entry, why in list(skipped.items())[:3]) + "." if skipped else ""
    raise UnknownPluginError(
        f"No {registry.name} plugin named '{name}'.{hint} Registered {registry.name} plugins: "
        f"{', '.join(known) or '(none)'}. A third-party plugin must be installed with an entry "
        f"point in the 'tim_bench' group or listed in the config's custom_imports.{held_back}"
    )


def _letters_in_order(letters: str, word: str) -> bool:
    rest = iter(word)
    return all(ch in rest for ch in letters)


def build(registry: Registry[T], cfg: Mapping[str, Any], **default_args: Any) -> T:
    """Build the component named by ``cfg['type']``; ``default_args`` fill keys cfg leaves out."""
    if "type" not in cfg:
        raise UnknownPluginError(f"A {registry.name} config needs a 'type' key; got keys {sorted(cfg)}.")
    kwargs = {k: v for k, v in cfg.items() if k != "type"}
    for key, value in default_args.items():
        kwargs.setdefault(key, value)
    cls = lookup(registry, cfg["type"])
    try:
        built = cls(**kwargs)
    except (TypeError, ValueError) as exc:  # wrong or inconsistent arguments: say which component and keys
        raise UnknownPluginError(
            f"Could not build {registry.name} '{cfg['type']}' from config keys {sorted(kwargs)}: {exc}"
        ) from exc
    # attributes set in __init__ (a feature source's dim) can only be checked on the object
    check_object(built, getattr(registry, "protocol", None), registry.name,
                 f"The {registry.name} '{cfg['type']}' ({getattr(cls, '__module__', '?')})")
    return built
