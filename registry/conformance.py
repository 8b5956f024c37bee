"""Checking a plugin's part against its Protocol when it registers, so a broken plugin fails at load, not mid-run.

Each registry names the Protocol its entries follow (``DATASETS``: ``DatasetPlugin``, ``METRICS``: ``Metric``
...). A class is checked when it registers: every method of the Protocol must exist and accept the arguments
the engine passes (a ``Metric`` is called as ``metric(predictions, annotations)``). Attributes an instance
sets in ``__init__`` (``FeatureSource.dim``) are checked on the built object (``build``), still before any
data is read. A failure is one ``PluginContractError`` sentence naming the class, what it lacks and the
Protocol; the plugin manager skips a third-party plugin that raises it, with a warning.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .errors import TimBenchError

_PROTOCOL_BASES = {"Protocol", "Generic", "object"}


class PluginContractError(TimBenchError):
    """A registered part does not provide what its registry's Protocol requires."""


def _protocol_members(protocol: type) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The methods (name -> function as declared) and the data attributes a Protocol requires."""
    methods: dict[str, Any] = {}
    attributes: list[str] = []
    for base in reversed(protocol.__mro__):
        if base.__name__ in _PROTOCOL_BASES:
            continue
        for name, value in vars(base).items():
            if name.startswith("_") and name != "__call__":
                continue
            if isinstance(value, staticmethod | classmethod) or inspect.isfunction(value):
                methods[name] = value
            elif isinstance(value, property) and name not in attributes:  # a read-only data member
                attributes.append(name)
        attributes += [n for n in getattr(base, "__annotations__", {}) if n not in methods and n not in attributes]
    return methods, tuple(attributes)


def _callable_of(declared: Any) -> tuple[Callable[..., Any], bool]:
    """The function inside a declared method, and whether it takes the instance (or class) first."""
    if isinstance(declared, staticmethod):
        return declared.__func__, False
    if isinstance(declared, classmethod):
        return declared.__func__, True
    return declared, True


def _parameters(function: Callable[..., Any], bound: bool) -> list[inspect.Parameter]:
    params = list(inspect.signature(function).parameters.values())
    return params[1:] if bound and params else params


def _shown(name: str, function: Callable[..., Any], bound: bool) -> str:
    return f"{name}({', '.join(p.name for p in _parameters(function, bound))})"


def _method_problem(cls: type, name: str, declared: Any) -> str | None:
    """Why ``cls`` does not provide method ``name`` as declared (None: it does): missing, or a signature that
    cannot take the declared arguments (required ones positionally, defaulted ones by keyword)."""
    spec, spec_bound = _callable_of(declared)
    wanted = _shown(name, spec, spec_bound)
    found = next((vars(base)[name] for base in cls.__mro__ if name in vars(base)), None)  # not the metaclass's
    if found is None:
        return f"does not define {wanted}"
    if not (isinstance(found, staticmethod | classmethod) or inspect.isfunction(found)):
        return None if callable(found) else f"has a {name} that is not a method (the Protocol calls {wanted})"
    impl, impl_bound = _callable_of(found)
    params = _parameters(spec, spec_bound)
    positional = [object()] * sum(p.default is p.empty and p.kind <= p.POSITIONAL_OR_KEYWORD for p in params)
    keywords = {p.name: object() for p in params if p.default is not p.empty or p.kind is p.KEYWORD_ONLY}
    try:
        inspect.signature(impl).bind(*([object()] if impl_bound else []), *positional, **keywords)
    except TypeError:
        return f"defines {_shown(name, impl, impl_bound)}, but the Protocol calls {wanted}"
    return None


def _class_problem(cls: type, protocol: type) -> str | None:
    """The first way class ``cls`` breaks ``protocol``'s methods (None: it follows them)."""
    methods, _ = _protocol_members(protocol)
    for name, declared in methods.items():
        problem = _method_problem(cls, name, declared)
        if problem:
            return problem
    return None


def _object_problem(obj: object, protocol: type) -> str | None:
    """The first way a built object breaks ``protocol`` (a missing attribute or method; None: it follows it)."""
    methods, attributes = _protocol_members(protocol)
    for name in attributes:
        if not hasattr(obj, name):
            return f"has no attribute '{name}'"
    return _class_problem(type(obj), protocol) if not inspect.isclass(obj) else None


def _contract_error(what: str, registry: str, problem: str, protocol: type) -> PluginContractError:
    """One sentence naming the part, its registry, the problem and the Protocol."""
    return PluginContractError(
        f"{what} (registered in {registry.upper()}S) {problem}, which the {protocol.__name__} Protocol of "
        f"tim_bench_registry requires; fix the plugin (docs/writing-plugins.md lists each Protocol) or uninstall it.")


def _qualified_name(obj: object) -> str:
    """``module.Class`` of a class, or of an object's class."""
    cls = obj if inspect.isclass(obj) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def check_class(cls: object, protocol: type | None, registry: str) -> None:
    """Raise ``PluginContractError`` if class ``cls`` breaks ``protocol`` (functions and a None protocol pass)."""
    if protocol is None or not inspect.isclass(cls):
        return
    problem = _class_problem(cls, protocol)
    if problem:
        raise _contract_error(f"Plugin class {_qualified_name(cls)}", registry, problem, protocol)


def check_object(obj: object, protocol: type | None, registry: str, what: str = "") -> None:
    """Raise ``PluginContractError`` if the built (or registered) object ``obj`` breaks ``protocol``."""
    if protocol is None:
        return
    problem = _object_problem(obj, protocol)
    if problem:
        raise _contract_error(what or f"Plugin object {_qualified_name(obj)}", registry, problem, protocol)
