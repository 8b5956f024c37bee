"""Contract names retired on the deprecation path of docs/writing-plugins.md section 7: each keeps working, with a
``DeprecationWarning`` naming its replacement, until the next major ``CONTRACT_VERSION``."""
from __future__ import annotations

import warnings
from collections.abc import Mapping

#: retired name -> the name that replaces it (defined in the same module), and the contract version that renamed it
RENAMED: Mapping[str, tuple[str, str]] = {"DatasetSpec": ("LeaderboardSpec", "1.1")}


def retired_name(namespace: Mapping[str, object], name: str) -> object:
    """A module's ``__getattr__``: the replacement of the retired ``name``, with a warning; AttributeError otherwise."""
    new, since = RENAMED.get(name, ("", ""))
    if new not in namespace:
        raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
    warnings.warn(f"tim_bench_registry.{name} is {new} since contract {since}; use {new} (the old name goes away "
                  f"with contract 2).", DeprecationWarning, stacklevel=3)
    return namespace[new]
