"""Load every plugin (built-in, entry point or a config's custom_imports) and remember its origin.

Built-in plugins are found exactly like third-party ones: through entry points in the
``tim_bench`` group, declared in tim-bench's own pyproject. A third-party entry point that fails to
import or to register, whose parts break their Protocols (``conformance``) or whose module declares
contract versions (``TIM_BENCH_CONTRACT``) that exclude ``CONTRACT_VERSION`` is skipped with one
warning naming it and its distribution, and whatever it registered before failing is taken back, so
one broken package never stops the commands that do not use it (``skipped_plugins`` lists them); a
built-in one that fails is a broken install and raises.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import logging
import threading
from collections.abc import Iterable
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


def _entries() -> dict[str, set[str]]:
    """Every registry's entry names now, to take back what a failed plugin registered."""
    return {kind: set(registry.module_dict) for kind, registry in REGISTRIES.items()}


def _take_back(before: dict[str, set[str]]) -> None:
    for kind, registry in REGISTRIES.items():
        for name in set(registry.module_dict) - before[kind]:
            registry.remove(name)


def _load(pm: pluggy.PluginManager, ep: importlib.metadata.EntryPoint, origin: str) -> None:
    """Import an entry point's module, check its declared contract range and register it; on any failure take
    back what it registered and raise."""
    before = _entries()
    try:
        module = ep.load()
        _check_contract_version(module)
        _register(pm, module, origin)
    except BaseException:
        _take_back(before)
        raise


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
        before = _entries()
        try:
            module = importlib.import_module(name)
            _check_contract_version(module)
        except PluginContractError:  # one sentence already; the config needs this module, so it stops here
            _take_back(before)
            if allow_failed_imports:
                continue
            raise
        except Exception as exc:  # a broken module must name itself, like a broken entry point
            _take_back(before)
            if allow_failed_imports:
                continue
            raise UnknownPluginError(
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
