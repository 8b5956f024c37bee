"""Contract names retired on the deprecation path of docs/writing-plugins.md section 7: each keeps working, with a
``DeprecationWarning`` naming its replacement, until the next major ``CONTRACT_VERSION``."""
from __future__ import annotations

import warnings
from collections.abc import Mapping

#: retired name -> the name that replaces it (defined in the same module), and the contract version that renamed it
RENAMED: Mapping[str, tuple[str, str]] = {"DatasetSpec": ("LeaderboardSpec", "1.1")}
_ENGINE_CHECKS = "the engine checks every split and video itself since contract 1.2; set `source=`"
#: retired call -> what replaces it; each call does nothing now, which is safe because the engine runs the same
#: rules on every split a dataset plugin loads and every video a feature plugin opens (``tim_bench.data.checked``)
RETIRED_CALLS: Mapping[str, str] = {
    "SplitAnnotations.validate": f"{_ENGINE_CHECKS} (the file the split was read from) so its messages name it",
    "VideoFeatures.validate": f"{_ENGINE_CHECKS} (the file and row of the video) so its messages name it",
    "check_disjoint": f"{_ENGINE_CHECKS}, so its leak check names each split's file",
}
_warned: set[str] = set()


def retired_name(namespace: Mapping[str, object], name: str) -> object:
    """A module's ``__getattr__``: the replacement of the retired ``name``, with a warning; AttributeError otherwise."""
    new, since = RENAMED.get(name, ("", ""))
    if new not in namespace:
        raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
    warnings.warn(f"tim_bench_registry.{name} is {new} since contract {since}; use {new} (the old name goes away "
                  f"with contract 2).", DeprecationWarning, stacklevel=3)
    return namespace[new]


def warn_retired(call: str) -> None:
    """Warn, once per process, that the retired ``call`` (a key of ``RETIRED_CALLS``) does nothing now."""
    if call in _warned:
        return
    _warned.add(call)
    warnings.warn(f"{call} is retired and does nothing: {RETIRED_CALLS[call]} (the call goes away with contract 2).",
                  DeprecationWarning, stacklevel=3)
