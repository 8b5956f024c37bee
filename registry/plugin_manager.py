"""Load every plugin (built-in, entry point or a config's custom_imports) and remember its origin; a broken
third-party one is skipped with one warning and takes back what it registered (docs/writing-plugins.md 2 and 7)."""
from __future__ import annotations

import importlib
import importlib.metadata
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import ModuleType

import pluggy

from . import hookspecs
from .conformance import PluginContractError
from .errors import UnknownPluginError
from .registries import REGISTRIES
from .version import CONTRACT_VERSION, DECLARATION, supports

ENTRY_POINT_GROUP = "tim_bench"
_BUILTIN_DISTRIBUTION = "tim-bench"

_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None
#: module name -> where it came from ("built-in", "entry point <dist> <version>", "custom_imports")
_origins: dict[str, str] = {}
#: "name = module (distribution)" of each third-party entry point skipped -> why
_skipped: dict[str, str] = {}
_log = logging.getLogger("tim_bench")


def _check_contract_version(module: ModuleType) -> None:
    """Raise ``PluginContractError`` if ``module`` declares contract versions that exclude this one."""
    spec = getattr(module, DECLARATION, None)
    if spec is None:
        return
    try:
        supported = supports(str(spec))
    except ValueError as exc:
        raise PluginContractError(f"{module.__name__} declares {DECLARATION} = {spec!r}, which is not a version "
                                  f"range ({exc}); write e.g. '>=1,<2'.") from None
    if not supported:
        raise PluginContractError(f"{module.__name__} supports tim-bench plugin contract {spec}, not this tim-bench's "
                                  f"{CONTRACT_VERSION}; install a release of it made for contract {CONTRACT_VERSION} "
                                  f"(or a tim-bench whose contract it supports).")


@contextmanager
def _taken_back_on_failure() -> Iterator[None]:
    """Take back every registry entry made inside the block if it fails (a plugin that could not load)."""
    before = {kind: set(registry.module_dict) for kind, registry in REGISTRIES.items()}
    try:
        yield
    except BaseException:
        for kind, registry in REGISTRIES.items():
            for name in set(registry.module_dict) - before[kind]:
                registry.remove(name)
        raise


def _load(pm: pluggy.PluginManager, ep: importlib.metadata.EntryPoint, origin: str) -> None:
    """Import an entry point's module, check its declared contract range and register it."""
    with _taken_back_on_failure():
        module = ep.load()
        _check_contract_version(module)
        _register(pm, module, origin)


def _register(pm: pluggy.PluginManager, module: ModuleType, origin: str) -> None:
    """Register ``module``; pluggy calls its ``tim_bench_register`` at once (the hook is historic)."""
    if pm.is_registered(module):
        return
    pm.register(module, name=module.__name__)
    try:
        pm.check_pending()  # a misspelt hook fails here, at load time, not mid-run
    except Exception:
        pm.unregister(module)
        raise
    _origins.setdefault(module.__name__, origin)


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with every entry-point plugin loaded (once)."""
    global _manager
    with _lock:
        if _manager is None:
            pm = pluggy.PluginManager(hookspecs.PROJECT)
            pm.add_hookspecs(hookspecs)
            pm.hook.tim_bench_register.call_historic(kwargs=dict(registries=REGISTRIES))
            for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
                dist = ep.dist.name if ep.dist is not None else "unknown"
                origin = "built-in" if dist == _BUILTIN_DISTRIBUTION else f"entry point {ep.name} ({dist})"
                try:
                    _load(pm, ep, origin)
                except Exception as exc:  # a broken plugin must name itself
                    if dist == _BUILTIN_DISTRIBUTION:
                        raise UnknownPluginError(
                            f"Built-in plugin '{ep.name} = {ep.value}' failed to load ({exc!r}); tim-bench is not "
                            f"installed completely: reinstall it.") from exc
                    _skip(f"{ep.name} = {ep.value} ({dist})", exc)
            _manager = pm
        return _manager


def _skip(plugin: str, exc: BaseException) -> None:
    _skipped[plugin] = str(exc) if isinstance(exc, PluginContractError) else repr(exc)
    if isinstance(exc, PluginContractError):  # already one sentence naming the part and the Protocol
        _log.warning("warning: plugin entry point '%s' is skipped: %s Commands that need it will not find its "
                    "parts.", plugin, exc)
        return
    _log.warning("warning: plugin entry point '%s' failed to load (%r) and is skipped: commands that need it will "
                "not find its parts. Fix or uninstall that package.", plugin, exc)


def skipped_plugins() -> dict[str, str]:
    """Third-party entry points that failed to load (``"name = module (distribution)"`` -> the error)."""
    plugin_manager()
    return dict(_skipped)


def import_custom(modules: Iterable[str], allow_failed_imports: bool = False) -> list[ModuleType]:
    """Import a config's ``custom_imports`` and register them as plugins."""
    pm = plugin_manager()
    loaded = []
    for name in modules:
        try:
            with _taken_back_on_failure():
                module = importlib.import_module(name)
                _check_contract_version(module)
        except Exception as exc:
            if allow_failed_imports:
                continue
            if isinstance(exc, PluginContractError):  # one sentence already; the config needs this module
                raise
            raise UnknownPluginError(  # a broken module must name itself, like a broken entry point
                f"custom_imports names module '{name}', which cannot be imported ({exc!r}); "
                f"install it or put its folder on PYTHONPATH."
            ) from exc
        with _lock:
            _register(pm, module, "custom_imports")
        loaded.append(module)
    return loaded


def origin_of(obj: object, module: str | None = None) -> str:
    """Where a registered class came from, e.g. ``built-in: tim_bench_plugins.ave.dataset``.

    A catalog entry belongs to ``module``, the module that registered it. A class belongs to the loaded
    plugin module that is its own module or its closest parent package; failing that, to a plugin of the
    same top-level package.
    """
    module = module or getattr(obj, "__module__", "") or ""
    owners = [name for name in _origins if module == name or module.startswith(name + ".")]
    if not owners:
        top = module.split(".")[0]
        owners = [name for name in _origins if name.split(".")[0] == top]
    if not owners:
        return f"imported directly: {module}"
    return f"{_origins[max(owners, key=len)]}: {module}"
