"""Load an mmengine python config, apply ``--cfg-options`` overrides, and refuse keys that do not exist."""
from __future__ import annotations

import difflib
import hashlib
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmengine.config import Config

from tim_bench_registry import TimBenchError, plugin_manager

#: Keys every section accepts; anything else is a typo and fails loudly.
SECTION_KEYS: dict[str, set[str]] = {
    "train_cfg": {"max_epochs", "batch_size", "lr", "weight_decay", "warmup_epochs", "min_lr", "grad_clip", "amp",
                  "early_stop_patience", "val_interval", "num_workers", "checkpoint_interval", "sampler",
                  "feature_store", "feature_dtype", "compile", "log_interval", "tensorboard"},
    "test_cfg": {"batch_size"},
    "windows": {"num_feats", "feat_gap", "feat_stride", "window_stride", "min_query_size"},
    "loss": {"label_smoothing", "stream_weights", "lambda_drloc", "m_drloc", "mixup_alpha",
             "drop_partial_labels"},
    "splits": {"train", "val", "test"},
    "extract": {"extractor", "inputs", "videos", "split", "out_folder", "intervals"},
}
TOP_LEVEL_KEYS = {"data_root", "dataset", "features", "windows", "model", "loss", "train_cfg", "test_cfg", "splits",
                  "evaluator", "writers", "seed", "work_dir", "custom_imports", "results_dir", "window_cache",
                  "extract", "load_from"}
__all__ = ["ConfigError", "check_run_settings", "config_hash", "find_config", "load_config", "recipe_hash",
           "safe_name"]
log = logging.getLogger("tim_bench")


class ConfigError(TimBenchError):
    """A config file or override that cannot be used as written."""


def find_config(name: str | Path) -> Path:
    """A config path as given, or a config of that stem in ./configs or a plugin's config folders."""
    path = Path(name)
    if path.is_file():
        return path
    stem = path.stem
    dirs = [Path("configs"), Path(__file__).resolve().parents[1] / "configs"]
    for extra in plugin_manager().hook.tim_bench_config_dirs():
        dirs += [Path(d) for d in extra]
    for d in dirs:
        candidate = d / f"{stem}.py"
        if candidate.is_file():
            return candidate
    raise ConfigError(f"Config {name} does not exist (also looked for {stem}.py in {', '.join(map(str, dirs))}).")


def _check_keys(cfg: Config, source: str) -> None:
    for key in cfg.keys():
        if key not in TOP_LEVEL_KEYS:
            close = difflib.get_close_matches(key, TOP_LEVEL_KEYS, n=1)
            raise ConfigError(f"{source}: unknown config key '{key}'" + (f" (did you mean '{close[0]}'?)" if close
                                                                          else "") +
                              f"; known keys: {', '.join(sorted(TOP_LEVEL_KEYS))}.")
    for section, allowed in SECTION_KEYS.items():
        if not isinstance(cfg.get(section), Mapping):
            continue  # None, or a wrong type that _check_types names
        for key in cfg[section]:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                raise ConfigError(f"{source}: unknown key '{section}.{key}'" +
                                  (f" (did you mean '{section}.{close[0]}'?)" if close else "") +
                                  f"; {section} accepts {', '.join(sorted(allowed))}.")


#: Keys a runnable config must define (the shipped _base_ files provide them).
REQUIRED_KEYS = ("data_root", "dataset", "features", "windows", "model", "loss", "train_cfg", "test_cfg", "evaluator")


def load_config(path: str | Path, cfg_options: Mapping[str, Any] | None = None,
                required: Sequence[str] = REQUIRED_KEYS) -> Config:
    """Read ``path`` (with ``_base_`` inheritance), merge overrides, validate every key and require ``required``."""
    path = find_config(path)
    try:
        cfg = Config.fromfile(str(path))
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
    _check_keys(cfg, str(path))
    _check_types(cfg, str(path), cfg_options or {})
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


@dataclass(frozen=True)
class Rule:
    """The type and range a config value must have; ``kind`` is int, number, bool, mapping or choice."""

    kind: str
    low: float | None = None
    high: float | None = None
    high_open: bool = False
    low_open: bool = False
    optional: bool = False
    why: str = ""
    choices: tuple = ()  # kind "choice": the values allowed (compared with their type: 1 is not True)

    def describe(self) -> str:
        """e.g. 'an integer >= 1' or 'a number in [0, 1)'."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices) + (" or None" if self.optional else "")
        noun = {"int": "an integer", "number": "a number", "bool": "True or False", "mapping": "a dict"}[self.kind]
        if self.low is not None and self.high is not None:
            noun += f" in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        elif self.low is not None:
            noun += f" {'>' if self.low_open else '>='} {self.low:g}"
        return noun + (" or None" if self.optional else "")

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` has this rule's type and lies in its range."""
        if value is None:
            return self.optional
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "choice":
            return any(type(value) is type(c) and value == c for c in self.choices)
        if self.kind == "mapping":
            return isinstance(value, Mapping)
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
#: Types and ranges of the keys the engine reads; a plugin model's own keys are left to the plugin.
SCHEMA: dict[str, dict[str, Rule]] = {
    "train_cfg": {
        "max_epochs": Rule("int", 1, why="with 0 epochs nothing is trained, and a checkpoint of an earlier run "
                                         "is never evaluated in its place"),
        "batch_size": POSITIVE_INT, "lr": NON_NEGATIVE, "weight_decay": NON_NEGATIVE, "warmup_epochs": NON_NEGATIVE,
        "min_lr": NON_NEGATIVE, "grad_clip": Rule("number", 0, low_open=True, optional=True),
        "amp": Rule("choice", choices=(True, False, "bf16")),
        "early_stop_patience": Rule("int", 1, optional=True), "val_interval": POSITIVE_INT, "num_workers": COUNT,
        "checkpoint_interval": POSITIVE_INT, "log_interval": POSITIVE_INT, "tensorboard": Rule("bool")},
    "test_cfg": {"batch_size": POSITIVE_INT},
    "windows": {"num_feats": POSITIVE_INT, "feat_gap": POSITIVE, "feat_stride": POSITIVE_INT,
                "window_stride": POSITIVE, "min_query_size": NON_NEGATIVE},
    "loss": {"label_smoothing": FRACTION, "stream_weights": Rule("mapping"), "lambda_drloc": NON_NEGATIVE,
             "m_drloc": POSITIVE_INT, "mixup_alpha": NON_NEGATIVE, "drop_partial_labels": Rule("bool")},
    "model": {"d_model": POSITIVE_INT, "nhead": POSITIVE_INT, "num_layers": POSITIVE_INT,
              "feedforward_scale": POSITIVE_INT, "enc_dropout": FRACTION, "feat_dropout": FRACTION,
              "seq_dropout": FRACTION, "pool_features": Rule("bool"), "head": Rule("mapping")},
}
TOP_LEVEL_RULES = {"seed": COUNT}


def _check_value(name: str, value: Any, rule: Rule, source: str, cfg_options: Mapping[str, Any]) -> None:
    if rule.accepts(value):
        return
    where = f"--cfg-options {name}" if name in cfg_options else f"{source}: {name}"
    raise ConfigError(f"{where}={value!r} is not valid: {name} must be {rule.describe()}" +
                      (f" ({rule.why})" if rule.why else "") + ".")


def _check_types(cfg: Config, source: str, cfg_options: Mapping[str, Any]) -> None:
    """Every known key has its type and range (e.g. train_cfg.batch_size an integer >= 1)."""
    for key, rule in TOP_LEVEL_RULES.items():
        if key in cfg:
            _check_value(key, cfg[key], rule, source, cfg_options)
    for section in sorted(set(SCHEMA) | set(SECTION_KEYS)):
        values = cfg.get(section)
        if values is None:
            continue
        if not isinstance(values, Mapping):
            _check_value(section, values, Rule("mapping"), source, cfg_options)
        for key, rule in SCHEMA.get(section, {}).items():
            if key in values:
                _check_value(f"{section}.{key}", values[key], rule, source, cfg_options)
    weights = (cfg.get("loss") or {}).get("stream_weights") or {}
    for stream, weight in weights.items():
        _check_value(f"loss.stream_weights.{stream}", weight, NON_NEGATIVE, source, cfg_options)


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
    """Warnings about a training config that runs but not as meant, before any training starts.

    ``num_workers`` above the available CPUs is clamped (in ``cfg``): more loader processes than CPUs
    only compete with the training step.
    """
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
                                "tensorboard")}


def config_hash(cfg: Config) -> str:
    """sha256 of the resolved config text (identifies a recipe + overrides, independent of file layout)."""
    data = {k: v for k, v in cfg.to_dict().items() if not k.startswith("_") and k not in ("work_dir", "results_dir")}
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
