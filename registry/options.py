"""argparse types for numeric options: a value out of range, NaN or infinite is a usage error naming the option."""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _bounds(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"between {minimum:g} and {maximum:g}"
    return f"at least {minimum:g}" if minimum is not None else f"at most {maximum:g}"


def integer(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type`` for an int within [minimum, maximum]."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"{value} is out of range: it must be {_bounds(minimum, maximum)}")
        return value
    parse.__name__ = "integer"
    return parse


def finite(minimum: float | None = None, maximum: float | None = None) -> Callable[[str], float]:
    """An argparse ``type`` for a finite float within [minimum, maximum] (NaN and inf refused)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"{value:g} is out of range: it must be {_bounds(minimum, maximum)}")
        return value
    parse.__name__ = "number"
    return parse
