"""Checking a part against its registry's Protocol as it registers (docs/writing-plugins.md section 7)."""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .errors import TimBenchError


class PluginContractError(TimBenchError):
    """A registered part does not provide what its registry's Protocol requires."""


def _members(protocol: type) -> tuple[dict[str, Any], list[str]]:
    """The methods (name -> function as declared) and the data attributes a Protocol requires."""
    methods: dict[str, Any] = {}
    attributes: list[str] = []
    for base in reversed(protocol.__mro__):
        if base.__name__ in ("Protocol", "Generic", "object"):
            continue
        for name, value in vars(base).items():
            if name.startswith("_") and name != "__call__":
                continue
            if isinstance(value, staticmethod | classmethod) or inspect.isfunction(value):
                methods[name] = value
            elif isinstance(value, property) and name not in attributes:  # a read-only data member
                attributes.append(name)
        attributes += [n for n in getattr(base, "__annotations__", {}) if n not in methods and n not in attributes]
    return methods, attributes


def _function(declared: Any) -> tuple[Callable[..., Any], bool]:
    """The function inside a declared method, and whether it takes the instance (or class) first."""
    if isinstance(declared, staticmethod | classmethod):
        return declared.__func__, isinstance(declared, classmethod)
    return declared, True


def _parameters(declared: Any) -> list[inspect.Parameter]:
    """A method's parameters after the instance (or class)."""
    function, bound = _function(declared)
    return list(inspect.signature(function).parameters.values())[int(bound):]


def _shown(name: str, declared: Any) -> str:
    return f"{name}({', '.join(p.name for p in _parameters(declared))})"


def _method_problem(cls: type, name: str, declared: Any) -> str | None:
    """Why ``cls`` does not provide method ``name`` as declared (None: it does): missing, or a signature that
    cannot take the declared arguments (required ones positionally, defaulted ones by keyword)."""
    wanted = _shown(name, declared)
    found = next((vars(base)[name] for base in cls.__mro__ if name in vars(base)), None)  # not the metaclass's
    if found is None:
        return f"does not define {wanted}"
    if not (isinstance(found, staticmethod | classmethod) or inspect.isfunction(found)):
        return None if callable(found) else f"has a {name} that is not a method (the Protocol calls {wanted})"
    params = _parameters(declared)
    positional = [object()] * sum(p.default is p.empty and p.kind <= p.POSITIONAL_OR_KEYWORD for p in params)
    keywords = {p.name: object() for p in params if p.default is not p.empty or p.kind is p.KEYWORD_ONLY}
    impl, impl_bound = _function(found)
    try:
        inspect.signature(impl).bind(*[object()] * impl_bound, *positional, **keywords)
    except TypeError:
        return f"defines {_shown(name, found)}, but the Protocol calls {wanted}"
    return None


def _methods_problem(cls: type, protocol: type) -> str | None:
    """The first way class ``cls`` breaks ``protocol``'s methods (None: it follows them)."""
    return next(filter(None, (_method_problem(cls, n, d) for n, d in _members(protocol)[0].items())), None)


def _refuse(problem: str | None, what: str, registry: str, protocol: type) -> None:
    """Raise one sentence naming the part, its registry, the problem and the Protocol (nothing for no problem)."""
    if problem:
        raise PluginContractError(
            f"{what} (registered in {registry.upper()}S) {problem}, which the {protocol.__name__} Protocol of "
            f"tim_bench_registry requires; fix the plugin (docs/writing-plugins.md lists each Protocol) or remove it "
            f"(uninstall its package, or drop its module from the config's custom_imports).")


def _qualified_name(obj: object) -> str:
    """``module.Class`` of a class, or of an object's class."""
    cls = obj if inspect.isclass(obj) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def check_class(cls: object, protocol: type | None, registry: str) -> None:
    """Raise ``PluginContractError`` if class ``cls`` breaks ``protocol`` (functions and a None protocol pass)."""
    if protocol is not None and inspect.isclass(cls):
        _refuse(_methods_problem(cls, protocol), f"Plugin class {_qualified_name(cls)}", registry, protocol)


def check_object(obj: object, protocol: type | None, registry: str, what: str = "") -> None:
    """Raise ``PluginContractError`` if the built (or registered) object ``obj`` breaks ``protocol``: attributes set
    in ``__init__`` (``FeatureSource.dim``) can only be checked on the object."""
    if protocol is None:
        return
    missing = [name for name in _members(protocol)[1] if not hasattr(obj, name)]
    problem = f"has no attribute '{missing[0]}'" if missing else \
        None if inspect.isclass(obj) else _methods_problem(type(obj), protocol)
    _refuse(problem, what or f"Plugin object {_qualified_name(obj)}", registry, protocol)
