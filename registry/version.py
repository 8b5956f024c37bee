"""The contract's semantic version, and whether a plugin's declared range (``TIM_BENCH_CONTRACT = ">=1,<2"``, a PEP 440
specifier) admits it (docs/writing-plugins.md 7)."""
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
