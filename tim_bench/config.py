"""Load an mmengine python config (a Python file, run as it loads), apply ``--cfg-options`` overrides, and resolve
it through the typed schema (tim_bench.schema) into the one config every part of a run reads."""
from __future__ import annotations

import ast
import hashlib
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mmengine.config import Config

from tim_bench_registry import TimBenchError, plugin_manager

from .recipe_folders import (CONFIG_ENTRY_POINT_GROUP, RecipeNotFoundError, declared_recipe_folders,
                             find_declared_recipe, not_found_message, recipe_candidates, recipe_name,
                             third_party_plugins_installed)
from .schema import TOP_LEVEL_KEYS, ConfigError, resolve

__all__ = ["ConfigError", "check_run_settings", "config_dirs", "config_hash", "find_config", "load_config",
           "recipe_hash", "safe_name"]
log = logging.getLogger("tim_bench")


def config_dirs() -> list[Path]:
    """Every recipe folder: the declared ones (``tim_bench.configs`` entry points, found without importing a
    plugin), then those a third-party plugin still returns from the deprecated ``tim_bench_config_dirs`` hook."""
    declared = [f.path for f in declared_recipe_folders()]
    hooked = [folder for _, folder in hook_config_dirs()] if third_party_plugins_installed() else []
    return list(dict.fromkeys([*declared, *hooked]))


def hook_config_dirs() -> list[tuple[str, Path]]:
    """(plugin name, folder) of each folder a plugin returns from the deprecated ``tim_bench_config_dirs`` hook
    (this loads every plugin), with one warning per plugin naming the entry point declaration that replaces it."""
    hook = plugin_manager().hook.tim_bench_config_dirs
    dirs: list[tuple[str, Path]] = []
    for impl in reversed(hook.get_hookimpls()):
        returned = impl.function()
        if not isinstance(returned, (list, tuple)) or not all(isinstance(d, (str, Path)) for d in returned):
            log.warning("warning: plugin %s's tim_bench_config_dirs hook returned %r, not a list of folder paths; "
                        "its recipes are skipped (declare its config folders as %s entry points instead).",
                        impl.plugin_name, returned, CONFIG_ENTRY_POINT_GROUP)
            continue
        found = [Path(d) for d in returned]
        if found and impl.plugin_name not in _WARNED_HOOK_USERS:
            _WARNED_HOOK_USERS.add(impl.plugin_name)
            log.warning("warning: plugin %s returns its config folders from the deprecated tim_bench_config_dirs "
                        "hook (removed in plugin contract 2.0); declare them in its pyproject instead, e.g. "
                        "[project.entry-points.\"%s\"] NAME = \"%s.configs\".", impl.plugin_name,
                        CONFIG_ENTRY_POINT_GROUP, impl.plugin_name.split(".")[0])
        dirs += [(impl.plugin_name, folder) for folder in found]
    return dirs


_WARNED_HOOK_USERS: set[str] = set()


def find_config(name: str | Path) -> Path:
    """A config path as given, else the recipe of that stem in ./configs, else in the plugins' config folders
    (a name two plugins both ship is an error naming both; one nobody ships names the closest recipes)."""
    try:
        return find_declared_recipe(str(name))
    except RecipeNotFoundError as exc:
        if not third_party_plugins_installed():
            raise ConfigError(str(exc)) from None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    dirs = config_dirs()
    try:
        found = recipe_candidates(recipe_name(str(name), dirs), dirs)
    except RecipeNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    if len(found) > 1:
        raise ConfigError(f"Config name {Path(name).stem} is shipped by more than one plugin "
                          f"({', '.join(map(str, found))}); give the file path instead.")
    if not found:
        raise ConfigError(not_found_message(str(name), dirs))
    return found[0]


def _base_files(path: Path) -> list[Path]:
    """The files ``path``'s ``_base_`` names (resolved as mmengine does: relative to ``path``'s folder); a file that
    does not parse, or a ``_base_`` that is not a literal, is left to mmengine to report."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_base_" for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return []
            names = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else []
            return [path.parent / n for n in names if isinstance(n, str) and "::" not in n]
    return []


def check_base_chain(path: Path) -> None:
    """Refuse a ``_base_`` cycle before mmengine recurses into it (it would fail after seconds, with "maximum
    recursion depth exceeded"), naming the files of the cycle."""
    def visit(file: Path, chain: list[Path]) -> None:
        key = file.resolve()
        if key in [c.resolve() for c in chain]:
            start = [c.resolve() for c in chain].index(key)
            cycle = " -> ".join(str(c) for c in [*chain[start:], file])
            raise ConfigError(f"_base_ cycle: {cycle}; a config cannot inherit from itself, remove one of these "
                              f"_base_ entries.")
        for base in _base_files(file):
            if base.is_file():
                visit(base, [*chain, file])
    visit(path, [])


#: Keys a runnable config must define (the shipped _base_ files provide them).
REQUIRED_KEYS = ("data_root", "dataset", "features", "windows", "model", "loss", "train_cfg", "test_cfg", "evaluator")


def load_config(path: str | Path, cfg_options: Mapping[str, Any] | None = None,
                required: Sequence[str] = REQUIRED_KEYS) -> Config:
    """Read ``path`` (with ``_base_`` inheritance), merge overrides, resolve it through the schema (every key at every
    depth checked, defaults filled in) and require ``required``."""
    path = find_config(path)
    check_base_chain(path)
    try:
        cfg = Config.fromfile(str(path))
    except TimBenchError as exc:  # raised by a module the config's custom_imports loads: the file itself was read
        raise type(exc)(f"Config {path} loads a plugin through custom_imports that was refused: {exc}") from exc
    except Exception as exc:  # mmengine raises many types for a broken file
        raise ConfigError(f"Could not read config {path}: {exc}") from exc
    if cfg_options:
        for key in cfg_options:
            head = key.split(".")[0]
            if head not in TOP_LEVEL_KEYS:
                raise ConfigError(f"--cfg-options {key}: '{head}' is not a config key; known keys: "
                                  f"{', '.join(sorted(TOP_LEVEL_KEYS))}.")
        try:
            cfg.merge_from_dict(dict(cfg_options))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"--cfg-options {' '.join(map(str, cfg_options))}: cannot be applied to {path} "
                              f"({exc}); a dotted key must lead through dicts of the config.") from exc
    cfg = Config(resolve(cfg.to_dict(), str(path), cfg_options))
    missing = [k for k in required if cfg.get(k) is None]
    if missing:
        raise ConfigError(f"{path} does not define {', '.join(missing)}; inherit them with "
                          f"_base_ = ['_base_/default_runtime.py', '_base_/tim_model.py', ...] or set them.")
    cfg["_name"] = safe_name(path.stem)  # not a user key: set after validation
    if cfg["_name"] != path.stem:
        log.warning("warning: config name '%s' (%s) is not usable in run ids and folder names; it is used as '%s'.",
                    path.stem, path, cfg["_name"])
    cfg["_path"] = str(path)
    return cfg


def safe_name(stem: str) -> str:
    """``stem`` reduced to letters, digits, '.', '_' and '-', usable in run ids and folder names."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")
    if not name:
        raise ConfigError(f"Config name '{stem}' has no letter or digit to name its runs by; rename the file.")
    return name


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which containers and SLURM restrict)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_run_settings(cfg: Config) -> None:
    """Warnings about a training config that runs but not as meant, before any training starts (and an error
    when it names no training split).

    ``num_workers`` above the available CPUs is clamped (in ``cfg``): more loader processes than CPUs
    only compete with the training step.
    """
    if not (cfg.get("splits") or {}).get("train"):
        raise ConfigError("The config gives no splits.train, and training needs one: set it (e.g. --cfg-options "
                            "splits.train=train) to the dataset's training split.")
    tc = cfg.train_cfg
    if tc.get("warmup_epochs", 0) > tc.max_epochs:
        log.warning("warning: train_cfg.warmup_epochs=%s exceeds train_cfg.max_epochs=%s: the learning rate never "
                    "leaves its linear warm-up (lower warmup_epochs or train longer).", tc.warmup_epochs,
                    tc.max_epochs)
    cpus = available_cpus()
    if int(tc.get("num_workers", 0)) > cpus:
        log.warning("warning: train_cfg.num_workers=%d exceeds the %d CPUs available to this process; using %d.",
                    tc.num_workers, cpus, cpus)
        tc.num_workers = cpus


#: keys that change how fast or how verbosely a run goes, never its numbers: left out of the hashes, so a run
#: resumes with more loader workers and runs on machines with other CPU counts share a leaderboard row
SPEED_ONLY_KEYS = {"train_cfg": ("num_workers", "log_interval", "checkpoint_interval", "feature_store",
                                "tensorboard", "keep_checkpoints"),
                   "test_cfg": ("probe_batch_size",)}


#: where the runner puts the number of processes a run trains on (``tim_bench.distributed``); not a user key
WORLD_SIZE_KEY = "_world_size"


def config_hash(cfg: Config) -> str:
    """sha256 of the resolved config text (identifies a recipe + overrides, independent of file layout) and, for
    a run on several processes, their number (the global batch is split over them, which changes the numbers)."""
    data = {k: v for k, v in cfg.to_dict().items() if not k.startswith("_") and k not in ("work_dir", "results_dir")}
    if int(cfg.get(WORLD_SIZE_KEY, 1)) != 1:  # single-process hashes stay as they were
        data["world_size"] = int(cfg[WORLD_SIZE_KEY])
    for section, keys in SPEED_ONLY_KEYS.items():
        if isinstance(data.get(section), Mapping):
            data[section] = {k: v for k, v in data[section].items() if k not in keys}
    return hashlib.sha256(repr(sorted(_normalise(data).items())).encode()).hexdigest()


def recipe_hash(cfg: Config, data_fingerprint: str) -> str:
    """What the runs of one recipe share across seeds and data locations (leaderboard groups, suite claims):
    ``config_hash`` without the seed and without ``data_root`` (where the data lives), with ``data_fingerprint``
    (what the data is: ``tim_bench.data.fingerprint.data_fingerprint(cfg)["sha256"]``) instead."""
    data = {k: v for k, v in cfg.to_dict().items() if k not in ("seed", "data_root")}
    return config_hash(Config({**data, "recipe_data_fingerprint": str(data_fingerprint)}))


def _normalise(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {k: _normalise(v) for k, v in sorted(x.items())}
    if isinstance(x, Sequence) and not isinstance(x, str):
        return [_normalise(v) for v in x]
    return x
