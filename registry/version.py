"""The contract's version, and whether a plugin's declared range admits it.

``CONTRACT_VERSION`` is semantic: a major bump removes or changes something a plugin may rely on (it breaks
plugins), a minor bump adds (an optional hook argument, a registry, a helper), a patch fixes. A plugin module
that an entry point names may declare the versions it supports; one whose range excludes this version is
skipped with a warning naming it, never imported half-way into a run::

    TIM_BENCH_CONTRACT = ">=1,<2"

>>> supports(">=1,<2", "1.3.0"), supports(">=2", "1.3.0")
(True, False)
"""
from __future__ import annotations

import operator
import re
from collections.abc import Callable

CONTRACT_VERSION = "1.1.0"
#: The module attribute in which a plugin declares the contract versions it supports (a PEP 440 specifier).
DECLARATION = "TIM_BENCH_CONTRACT"

_OPERATORS: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt}
_CLAUSE = re.compile(r"\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)*)\s*")


def supports(spec: str, version: str = CONTRACT_VERSION) -> bool:
    """Whether the specifier ``spec`` (e.g. ``">=1,<2"``) admits ``version``; ValueError for one it cannot read.

    Read with ``packaging.specifiers`` when that is installed (as nearly always), else by ``simple_supports``."""
    try:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet
    except ImportError:
        return simple_supports(spec, version)
    try:
        return SpecifierSet(spec).contains(version, prereleases=True)
    except InvalidSpecifier as exc:
        raise ValueError(f"{spec!r} is not a version specifier ({exc})") from None


def simple_supports(spec: str, version: str) -> bool:
    """``supports`` without ``packaging``: comma-separated clauses ``OP X[.Y[.Z]]`` with OP one of >= <= == != > <,
    versions compared as numbers padded with zeros (``1`` == ``1.0.0``)."""
    def numbers(text: str) -> tuple[int, ...]:
        parts = tuple(int(p) for p in text.split("."))
        return parts + (0,) * (3 - len(parts))

    clauses = [c for c in spec.split(",") if c.strip()]
    parsed = [_CLAUSE.fullmatch(c) for c in clauses]
    if not clauses or not all(parsed):
        raise ValueError(f"{spec!r} is not a version specifier (e.g. '>=1,<2')")
    return all(_OPERATORS[m.group(1)](numbers(version), numbers(m.group(2))) for m in parsed if m)
