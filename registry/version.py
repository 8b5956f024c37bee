"""The contract's version, and whether a plugin's declared range admits it.

``CONTRACT_VERSION`` is semantic: a major bump removes or changes something a plugin may rely on (it breaks
plugins), a minor bump adds (an optional hook argument, a registry, a helper), a patch fixes. A plugin module
that an entry point names may declare the versions it supports (a PEP 440 specifier); one whose range excludes
this version is skipped with a warning naming it, never imported half-way into a run::

    TIM_BENCH_CONTRACT = ">=1,<2"

>>> supports(">=1,<2", "1.3.0"), supports(">=2", "1.3.0")
(True, False)
"""
from __future__ import annotations

from packaging.specifiers import InvalidSpecifier, SpecifierSet

CONTRACT_VERSION = "1.2.0"
#: The module attribute in which a plugin declares the contract versions it supports.
DECLARATION = "TIM_BENCH_CONTRACT"


def supports(spec: str, version: str = CONTRACT_VERSION) -> bool:
    """Whether the specifier ``spec`` (e.g. ``">=1,<2"``) admits ``version``; ValueError for one it cannot read."""
    try:
        return SpecifierSet(spec).contains(version, prereleases=True)
    except InvalidSpecifier as exc:
        raise ValueError(f"{spec!r} is not a version specifier ({exc})") from None
