"""Load an mmengine python config, apply ``--cfg-options`` overrides, and refuse keys that do not exist."""
from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mmengine.config import Config

from tim_bench_registry import TimBenchError, plugin_manager

#: Keys every section accepts; anything else is a typo and fails loudly.
SECTION_KEYS: dict[str, set[str]] = {
    "train_cfg": {"max_epochs", "batch_size", "lr", "weight_decay", "warmup_epochs", "min_lr", "grad_clip", "amp",
                  "early_stop_patience", "val_interval", "num_workers", "checkpoint_interval"},
    "test_cfg": {"batch_size"},
    "windows": {"num_feats", "feat_gap", "feat_stride", "window_stride", "min_query_size"},
    "loss": {"label_smoothing", "stream_weights", "lambda_drloc", "m_drloc", "mixup_alpha"},
    "splits": {"train", "val", "test"},
    "extract": {"extractor", "inputs", "videos", "split", "out_folder", "intervals"},
}
TOP_LEVEL_KEYS = {"data_root", "dataset", "features", "windows", "model", "loss", "train_cfg", "test_cfg", "splits",
                  "evaluator", "writers", "seed", "work_dir", "custom_imports", "results_dir", "window_cache",
                  "extract"}
__all__ = ["ConfigError", "config_hash", "find_config", "load_config", "recipe_hash"]


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
        for key in (cfg.get(section) or {}):
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
        cfg.merge_from_dict(dict(cfg_options))
    _check_keys(cfg, str(path))
    missing = [k for k in required if cfg.get(k) is None]
    if missing:
        raise ConfigError(f"{path} does not define {', '.join(missing)}; inherit them with "
                          f"_base_ = ['_base_/default_runtime.py', '_base_/tim_model.py', ...] or set them.")
    cfg["_name"] = path.stem  # not a user key: set after validation
    cfg["_path"] = str(path)
    return cfg


def config_hash(cfg: Config) -> str:
    """sha256 of the resolved config text (identifies a recipe + overrides, independent of file layout)."""
    data = {k: v for k, v in cfg.to_dict().items() if not k.startswith("_") and k not in ("work_dir", "results_dir")}
    return hashlib.sha256(repr(sorted(_normalise(data).items())).encode()).hexdigest()


def recipe_hash(cfg: Config) -> str:
    """``config_hash`` without the seed: what the runs of one recipe share across seeds (leaderboard groups)."""
    return config_hash(Config({k: v for k, v in cfg.to_dict().items() if k != "seed"}))


def _normalise(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {k: _normalise(v) for k, v in sorted(x.items())}
    if isinstance(x, Sequence) and not isinstance(x, str):
        return [_normalise(v) for v in x]
    return x
