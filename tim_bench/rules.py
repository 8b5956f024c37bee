"""The type and range rules of config values and CLI options, with the argparse ``type`` for numeric options.

Standard library only: the CLI's parsers use these before torch, pandas or any plugin is imported, so a bad
option is answered at once; the config schema (tim_bench.schema) builds its sections from the same rules."""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    """The type and range a value must have; ``kind`` is int, number, bool, text, mapping, list, choice or any (checked
    where it is used)."""

    kind: str
    low: float | None = None
    high: float | None = None
    high_open: bool = False
    low_open: bool = False
    optional: bool = False
    why: str = ""
    choices: tuple = ()  # kind "choice": the values allowed (compared with their type: 1 is not True)
    keys: tuple[str, ...] = ()  # kind "mapping": the keys allowed (empty: any)
    values: Rule | None = None  # kind "mapping": the rule of every value

    def describe(self) -> str:
        """e.g. 'an integer >= 1' or 'a number in [0, 1)'."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices) + (" or None" if self.optional else "")
        noun = {"int": "an integer", "number": "a number", "bool": "True or False", "mapping": "a dict",
                "text": "a string", "list": "a list"}[self.kind]
        if self.low is not None and self.high is not None:
            noun += f" in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        elif self.low is not None:
            noun += f" {'>' if self.low_open else '>='} {self.low:g}"
        if self.keys:
            noun += f" with keys among {', '.join(self.keys)}"
        return noun + (" or None" if self.optional else "")

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` has this rule's type and lies in its range (not looking inside a mapping)."""
        if value is None:
            return self.optional or self.kind == "any"
        if self.kind == "any":
            return True
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "choice":
            return any(type(value) is type(c) and value == c for c in self.choices)
        if self.kind == "mapping":
            return isinstance(value, Mapping)
        if self.kind == "text":
            return isinstance(value, str)
        if self.kind == "list":
            return isinstance(value, (list, tuple))
        if isinstance(value, bool) or not isinstance(value, int if self.kind == "int" else (int, float)):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return False
        return True


COUNT, POSITIVE_INT = Rule("int", 0), Rule("int", 1)
NON_NEGATIVE, FRACTION = Rule("number", 0), Rule("number", 0, 1, high_open=True)
POSITIVE = Rule("number", 0, low_open=True)
TEXT, OPTIONAL_TEXT, BOOL = Rule("text"), Rule("text", optional=True), Rule("bool")


def cli_number(rule: Rule) -> Callable[[str], int | float]:
    """An argparse ``type`` for a numeric option: the text parsed as ``rule``'s kind, refused (a usage error, which
    argparse prefixes with the option's name) unless finite and in range."""
    def parse(text: str) -> int | float:
        try:
            value: int | float = int(text) if rule.kind == "int" else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {rule.describe()}") from None
        if not rule.accepts(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not valid: it must be {rule.describe()}" +
                                             (f" ({rule.why})" if rule.why else ""))
        return value
    parse.__name__ = rule.kind  # argparse names the type in some messages
    return parse
