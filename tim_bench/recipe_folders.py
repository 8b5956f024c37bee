"""Where shipped recipes live, found without importing any plugin.

A distribution declares each of its config folders as an entry point of the ``tim_bench.configs`` group: the
name says whose recipes they are (``ave``, ``ave.extract``: the benchmark is the part before the first dot), the
value is the folder as a dotted package path (``tim_bench_plugins.ave.configs``). The folder is located on disk
through the top-level package's import spec, so nothing is imported: ``tim-bench run NAME`` (and a typo in NAME)
is answered before torch, pandas or a plugin loads. This module imports only the standard library.
"""
from __future__ import annotations

import difflib
import importlib.metadata
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

#: The entry-point group in which a distribution declares its config folders.
CONFIG_ENTRY_POINT_GROUP = "tim_bench.configs"
#: The entry-point group of plugin modules (tim_bench_registry.plugin_manager.ENTRY_POINT_GROUP).
PLUGIN_ENTRY_POINT_GROUP = "tim_bench"
#: tim-bench's own distribution: its plugins declare their folders, so they never need the old hook.
BUILTIN_DISTRIBUTION = "tim-bench"
#: Where a user's own configs are looked up first, relative to the working folder.
LOCAL_CONFIGS = Path("configs")


class RecipeNotFoundError(LookupError):
    """No config file of that name in ./configs or any declared recipe folder (the message says where it looked)."""


@dataclass(frozen=True)
class RecipeFolder:
    """One declared config folder: ``benchmark`` is the entry point's name up to its first dot."""

    benchmark: str
    path: Path
    distribution: str


def package_folder(dotted: str) -> Path | None:
    """The folder of a dotted package path (``tim_bench_plugins.ave.configs``) without importing anything: the
    top-level package's search locations, then the remaining names as sub-folders; None when none exists."""
    top, *rest = dotted.strip().split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    for base in (spec.submodule_search_locations or []) if spec is not None else []:
        folder = Path(base, *rest)
        if folder.is_dir():
            return folder
    return None


def declared_recipe_folders() -> list[RecipeFolder]:
    """Every existing folder declared in the ``tim_bench.configs`` group, by entry point name; a declared folder
    that is missing on disk (the package is installed incompletely, or the declaration is wrong) is skipped with
    one warning naming the entry point and its distribution."""
    folders = []
    for ep in sorted(importlib.metadata.entry_points(group=CONFIG_ENTRY_POINT_GROUP), key=lambda e: e.name):
        path = package_folder(ep.value)
        dist = ep.dist.name if ep.dist is not None else "unknown"
        if path is not None:
            folders.append(RecipeFolder(ep.name.split(".")[0], path, dist))
        elif (ep.name, dist) not in _WARNED_MISSING:
            _WARNED_MISSING.add((ep.name, dist))
            logging.getLogger("tim_bench").warning(
                "warning: %s entry point '%s = %s' (%s) names no folder on disk; its recipes are not found by name. "
                "Reinstall that package, or fix the declaration (a dotted path to the configs folder).",
                CONFIG_ENTRY_POINT_GROUP, ep.name, ep.value, dist)
    return list({f.path: f for f in folders}.values())


_WARNED_MISSING: set[tuple[str, str]] = set()


def third_party_plugins_installed() -> bool:
    """Whether an installed distribution other than tim-bench has plugin entry points: only such a plugin may
    still return config folders from the deprecated ``tim_bench_config_dirs`` hook."""
    return any(ep.dist is None or ep.dist.name != BUILTIN_DISTRIBUTION
               for ep in importlib.metadata.entry_points(group=PLUGIN_ENTRY_POINT_GROUP))


def recipe_candidates(stem: str, folders: list[Path]) -> list[Path]:
    """``STEM.py`` in ./configs if it exists (a user's own config wins), else in every folder that has it."""
    local = LOCAL_CONFIGS / f"{stem}.py"
    if local.is_file():
        return [local]
    return list(dict.fromkeys(d / f"{stem}.py" for d in folders if (d / f"{stem}.py").is_file()))


def recipe_names(folders: list[Path]) -> list[str]:
    """The recipe names (file stems, ``_base_`` files excluded) in ./configs and ``folders``."""
    files = [f for d in [LOCAL_CONFIGS, *folders] if d.is_dir() for f in d.glob("*.py")]
    return sorted({f.stem for f in files if not f.stem.startswith("_")})


def not_found_message(name: str, folders: list[Path]) -> str:
    """One sentence: the name, where it was looked for, the closest recipe names and where all are listed."""
    stem = Path(name).stem
    close = difflib.get_close_matches(stem, recipe_names(folders), n=3, cutoff=0.6)
    guess = f" Did you mean {' or '.join(close)}?" if close else ""
    where = ", ".join(str(d) for d in [LOCAL_CONFIGS, *folders])
    return (f"Config {name} does not exist: no such file, and no {stem}.py in {where}.{guess} "
            f"`tim-bench zoo` lists every shipped recipe.")


def recipe_name(name: str, folders: list[Path]) -> str:
    """The recipe name a CONFIG argument that is no file stands for: a bare name (``ave_vgg``, ``ave_vgg.py``) is
    looked up; a path with a folder that does not exist (``mine/ave_vgg.py``) is an error, never silently the
    shipped recipe of the same name."""
    path = Path(name)
    if path.parent != Path("."):
        shipped = recipe_candidates(path.stem, folders)
        hint = f" (to run the shipped recipe {path.stem}, give its name alone: {path.stem})" if shipped else ""
        raise RecipeNotFoundError(f"Config {name} does not exist: no such file{hint}.")
    return path.stem


def find_declared_recipe(name: str) -> Path:
    """``name`` if it is a file, else its recipe in ./configs or a declared folder; raises ``RecipeNotFoundError``
    (with a did-you-mean) when none has it, and ``ValueError`` naming both when two folders do."""
    path = Path(name)
    if path.is_file():
        return path
    folders = [f.path for f in declared_recipe_folders()]
    found = recipe_candidates(recipe_name(name, folders), folders)
    if len(found) > 1:
        raise ValueError(f"Config name {path.stem} is shipped by more than one plugin "
                         f"({', '.join(map(str, found))}); give the file path instead.")
    if not found:
        raise RecipeNotFoundError(not_found_message(name, folders))
    return found[0]
