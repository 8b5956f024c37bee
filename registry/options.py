"""argparse types for numeric options: a value out of range, NaN or infinite is a usage error naming the option."""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import TypeVar

_N = TypeVar("_N", int, float)


def _bounds(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"between {minimum:g} and {maximum:g}"
    return f"at least {minimum:g}" if minimum is not None else f"at most {maximum:g}"


def _ranged(convert: Callable[[str], _N], noun: str, name: str, minimum: float | None,
            maximum: float | None) -> Callable[[str], _N]:
    """An argparse ``type`` converting with ``convert`` (its ``__name__``, ``name``, is what argparse's errors say)."""
    def parse(text: str) -> _N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            raise argparse.ArgumentTypeError(f"{shown} is out of range: it must be {_bounds(minimum, maximum)}")
        return value
    parse.__name__ = name
    return parse


def integer(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type`` for an int within [minimum, maximum]."""
    return _ranged(int, "an integer", "integer", minimum, maximum)


def finite(minimum: float | None = None, maximum: float | None = None) -> Callable[[str], float]:
    """An argparse ``type`` for a finite float within [minimum, maximum] (NaN and inf refused)."""
    return _ranged(float, "a number", "number", minimum, maximum)
