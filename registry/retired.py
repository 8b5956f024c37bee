"""Contract names retired on the deprecation path of docs/writing-plugins.md section 7: each keeps working, with a
``DeprecationWarning`` naming its replacement, until the next major ``CONTRACT_VERSION``."""
from __future__ import annotations

import warnings
from collections.abc import Mapping

#: retired name -> the name that replaces it (defined in the same module), and the contract version that renamed it
RENAMED: Mapping[str, tuple[str, str]] = {"DatasetSpec": ("LeaderboardSpec", "1.1")}
_warned: set[str] = set()


def retired_name(namespace: Mapping[str, object], name: str) -> object:
    """A module's ``__getattr__``: the replacement of the retired ``name``, with a warning; AttributeError otherwise."""
    new, since = RENAMED.get(name, ("", ""))
    if new not in namespace:
        raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
    warnings.warn(f"tim_bench_registry.{name} is {new} since contract {since}; use {new} (the old name goes away "
                  f"with contract 2).", DeprecationWarning, stacklevel=3)
    return namespace[new]


def warn_retired(call: str, source: str) -> None:
    """Warn, once per process, that ``call`` is retired since contract 1.2 and does nothing: the engine runs the same
    rules on every split and video it reads (``tim_bench.data.checked``), naming the ``source`` a plugin sets."""
    if call in _warned:
        return
    _warned.add(call)
    warnings.warn(f"{call} is retired and does nothing: the engine checks every split and video itself since contract "
                  f"1.2; set `source=` ({source}) so its messages name it (the call goes away with contract 2).",
                  DeprecationWarning, stacklevel=3)
