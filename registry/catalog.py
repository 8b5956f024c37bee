"""A registry of named objects that are not classes (reference rows, leaderboard specs, challenges, formats): mmengine's
``Registry`` holds classes and functions only; a ``Catalog`` also remembers the module that registered each entry."""
from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Generic, TypeVar

from .conformance import check_object

T = TypeVar("T")

class Catalog(Generic[T]):
    """Named objects of one kind ``T``; ``module_dict`` and ``get`` read like an mmengine ``Registry``."""

    def __init__(self, name: str, protocol: type | None = None) -> None:
        self.name = name
        self.protocol = protocol  # each entry is checked against it as it registers
        self._entries: dict[str, T] = {}
        self._modules: dict[str, str] = {}

    def register(self, name: str, obj: T, *, force: bool = False, module: str | None = None) -> None:
        """Add ``obj`` as ``name``; a second entry of that name needs ``force`` (a plugin replacing a built-in)."""
        if name in self._entries and not force and self._entries[name] is not obj:
            raise KeyError(f"{self.name} '{name}' is already registered by {self._modules[name]}; pass force=True "
                           f"to replace it.")
        check_object(obj, self.protocol, self.name, f"The {self.name} '{name}'")
        self._entries[name] = obj
        self._modules[name] = module or sys._getframe(1).f_globals.get("__name__", "")

    def get(self, name: str) -> T | None:
        """The entry registered as ``name``, or None."""
        return self._entries.get(name)

    def remove(self, name: str) -> None:
        """Forget the entry ``name`` (a plugin that failed to load takes back what it registered)."""
        self._entries.pop(name, None)
        self._modules.pop(name, None)

    def module_of(self, name: str) -> str:
        """The module that registered ``name``."""
        return self._modules[name]

    @property
    def module_dict(self) -> Mapping[str, T]:
        """Every entry by name (read-only view)."""
        return dict(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)
