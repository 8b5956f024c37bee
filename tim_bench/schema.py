"""The config's typed schema: every section a dataclass of typed, ranged fields, every plugin part checked against
its registered signature; ``resolve`` turns a loaded config into the one resolved config the trainer, the run record
and the config hash all read (defaults filled in, unknown keys refused at every depth)."""
from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from tim_bench_registry import (DATASETS, EXTRACTORS, FEATURES, HEADS, METRICS, MODELS, STREAMS, WRITERS,
                                TimBenchError, UnknownPluginError, import_custom, lookup,
                                plugin_manager)

from .rules import BOOL, COUNT, FRACTION, NON_NEGATIVE, OPTIONAL_TEXT, POSITIVE, POSITIVE_INT, TEXT, Rule


class ConfigError(TimBenchError):
    """A config file or override that cannot be used as written."""


def option(rule: Rule, default: Any = MISSING) -> Any:
    """A schema field: its rule, and its default (none: the config must set it)."""
    return field(default=default, metadata={"rule": rule})


@dataclass(frozen=True)
class TrainCfg:
    """``train_cfg``: optimisation, precision and loader settings of training."""

    max_epochs: int = option(Rule("int", 1, why="with 0 epochs nothing is trained, and a checkpoint of an earlier "
                                                "run is never evaluated in its place"))
    batch_size: int = option(POSITIVE_INT)
    lr: float = option(NON_NEGATIVE)
    weight_decay: float = option(NON_NEGATIVE)
    warmup_epochs: float = option(NON_NEGATIVE)
    min_lr: float = option(NON_NEGATIVE)
    grad_clip: float | None = option(Rule("number", 0, low_open=True, optional=True))
    amp: bool | str = option(Rule("choice", choices=(True, False, "bf16")), True)
    early_stop_patience: int | None = option(Rule("int", 1, optional=True), None)
    val_interval: int = option(POSITIVE_INT, 1)
    num_workers: int = option(COUNT, 0)
    checkpoint_interval: int = option(POSITIVE_INT, 1)
    sampler: str = option(Rule("choice", choices=("uniform", "bucketed")), "uniform")
    feature_store: str = option(Rule("choice", choices=("auto", "gpu", "host")), "auto")
    feature_dtype: str = option(Rule("choice", choices=("auto", "float32", "bfloat16", "float16")), "auto")
    compile: bool | str = option(Rule("choice", choices=("auto", False, True, "default", "reduce-overhead",
                                                         "max-autotune-no-cudagraphs")), "auto")
    keep_checkpoints: str = option(Rule("choice", choices=("all", "best", "last")), "all")
    log_interval: int = option(POSITIVE_INT, 50)
    tensorboard: bool = option(BOOL, False)


@dataclass(frozen=True)
class TestCfg:
    """``test_cfg``: evaluation settings. ``probe_batch_size`` (speed only): "auto" infers on one CUDA device at the
    batch size a short timed probe finds fastest, True probes on any device, False keeps ``batch_size``
    (tim_bench.evaluation.batch_size)."""

    batch_size: int = option(POSITIVE_INT)
    probe_batch_size: bool | str = option(Rule("choice", choices=("auto", True, False)), "auto")


@dataclass(frozen=True)
class WindowsCfg:
    """``windows``: the sliding-window geometry (tim_bench.data.windows.WindowSpec)."""

    num_feats: int = option(POSITIVE_INT)
    feat_gap: float = option(POSITIVE)
    feat_stride: int = option(POSITIVE_INT)
    window_stride: float = option(POSITIVE)
    min_query_size: float = option(NON_NEGATIVE)


@dataclass(frozen=True)
class LossCfg:
    """``loss``: the training objective; ``stream_weights`` has one weight per stream (visual, audio)."""

    label_smoothing: float = option(FRACTION)
    stream_weights: dict = option(Rule("mapping", keys=STREAMS, values=NON_NEGATIVE))
    lambda_drloc: float = option(NON_NEGATIVE)
    m_drloc: int = option(POSITIVE_INT)
    mixup_alpha: float = option(NON_NEGATIVE, 0.0)
    drop_partial_labels: bool = option(BOOL, True)


@dataclass(frozen=True)
class SplitsCfg:
    """``splits``: the dataset split playing each role (None: none)."""

    train: str | None = option(OPTIONAL_TEXT, None)
    val: str | None = option(OPTIONAL_TEXT, None)
    test: str | None = option(OPTIONAL_TEXT, None)


@dataclass(frozen=True)
class CustomImportsCfg:
    """``custom_imports``: modules that register third-party plugins."""

    imports: list = option(Rule("list"), ())
    allow_failed_imports: bool = option(BOOL, False)


@dataclass(frozen=True)
class ExtractCfg:
    """``extract``: what ``extract-features`` reads and writes (tim_bench.extract)."""

    extractor: dict = option(Rule("mapping"))
    inputs: str = option(TEXT)
    split: str = option(TEXT)
    out_folder: str = option(TEXT)
    videos: Any = option(Rule("any"), None)  # None, a list of ids or a file of ids: checked by tim_bench.extract
    intervals: str | None = option(OPTIONAL_TEXT, None)


#: Sections with a dataclass schema (resolved: defaults filled in).
SECTIONS: dict[str, type] = {"train_cfg": TrainCfg, "test_cfg": TestCfg, "windows": WindowsCfg, "loss": LossCfg,
                             "splits": SplitsCfg, "custom_imports": CustomImportsCfg, "extract": ExtractCfg}
#: Top-level values that are not sections.
SCALARS: dict[str, Rule] = {"seed": COUNT, "data_root": OPTIONAL_TEXT, "work_dir": OPTIONAL_TEXT,
                            "results_dir": OPTIONAL_TEXT, "window_cache": OPTIONAL_TEXT,
                            "load_from": Rule("any")}  # a path or dict(path=, trust=): tim_bench.runner.load_from
#: Sections that build registered plugins: (registry, one part or a non-empty list of parts).
PARTS: dict[str, tuple[Any, str]] = {"dataset": (DATASETS, "one or a list"), "evaluator": (METRICS, "one or a list"),
                                     "model": (MODELS, "one"), "writers": (WRITERS, "a list"),
                                     "features": (FEATURES, "per stream")}
#: Engine keys a part's dict may hold beside its class's arguments.
ENGINE_KEYS = {"writers": ("out",)}
#: Types and ranges of the TIM model's own arguments (a third-party model's are left to its signature).
TIM_RULES: dict[str, Rule] = {
    "d_model": POSITIVE_INT, "nhead": POSITIVE_INT, "num_layers": POSITIVE_INT, "feedforward_scale": POSITIVE_INT,
    "enc_dropout": FRACTION, "feat_dropout": FRACTION, "seq_dropout": FRACTION, "pool_features": BOOL,
    "head": Rule("mapping"), "encoder_init": Rule("choice", choices=("cloned", "independent"))}
TOP_LEVEL_KEYS = frozenset(SECTIONS) | frozenset(SCALARS) | frozenset(PARTS)


def _did_you_mean(key: str, allowed: Sequence[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return f" (did you mean '{prefix}{close[0]}'?)" if close else ""


class _Resolver:
    """Checks one loaded config; ``where(name)`` says whether an override or the file set ``name``."""

    def __init__(self, source: str, cfg_options: Mapping[str, Any]) -> None:
        self.source, self.cfg_options = source, cfg_options

    def where(self, name: str) -> str:
        given = [k for k in self.cfg_options if k == name or name.startswith(k + ".") or k.startswith(name + ".")]
        return f"--cfg-options {given[0]}:" if given else f"{self.source}:"

    def fail(self, name: str, message: str) -> None:
        raise ConfigError(f"{self.where(name)} {message}")

    def value(self, name: str, value: Any, rule: Rule) -> Any:
        """``value`` checked against ``rule`` (a mapping's keys and values too); returned as a plain copy."""
        if not rule.accepts(value):
            self.fail(name, f"{name}={value!r} is not valid: {name} must be {rule.describe()}" +
                      (f" ({rule.why})" if rule.why else "") + ".")
        if rule.kind == "mapping" and value is not None:
            out = {}
            for key, item in value.items():
                if rule.keys and key not in rule.keys:
                    hint = _did_you_mean(str(key), rule.keys, name + ".")
                    self.fail(f"{name}.{key}", f"unknown key '{name}.{key}'{hint}; {name} accepts "
                              f"{', '.join(rule.keys)}.")
                out[key] = self.value(f"{name}.{key}", item, rule.values) if rule.values else item
            return out
        return list(value) if rule.kind == "list" else value

    def section(self, name: str, schema: type, values: Any) -> dict[str, Any]:
        """The section's values, every key known and checked, every default filled in."""
        self.value(name, values, Rule("mapping"))
        allowed = [f.name for f in fields(schema)]
        for key in values:
            if key not in allowed:
                self.fail(f"{name}.{key}", f"unknown key '{name}.{key}'{_did_you_mean(key, allowed, name + '.')}; "
                          f"{name} accepts {', '.join(allowed)}.")
        out = {}
        for f in fields(schema):
            rule = f.metadata["rule"]
            if f.name in values:
                out[f.name] = self.value(f"{name}.{f.name}", values[f.name], rule)
            elif f.default is MISSING:
                self.fail(f"{name}.{f.name}", f"{name} does not set {f.name} ({rule.describe()}); set {name}.{f.name} "
                          f"or inherit it from a _base_ file.")
            else:
                out[f.name] = list(f.default) if isinstance(f.default, tuple) else f.default
        return out

    def part(self, name: str, registry: Any, value: Any) -> None:
        """``value`` is ``dict(type=NAME, **kwargs)`` for a registered NAME whose signature takes every kwarg."""
        if not isinstance(value, Mapping) or not isinstance(value.get("type"), str):
            plugin_manager()  # every plugin registered: the names below are all there are
            self.fail(name, f"{name}={value!r} is not valid: {name} must be a dict naming a {registry.name} plugin "
                      f"with 'type', e.g. dict(type=NAME, ...); registered {registry.name} plugins: "
                      f"{', '.join(sorted(registry.module_dict)) or '(none)'}.")
        try:
            cls = lookup(registry, value["type"])
        except UnknownPluginError as exc:
            raise ConfigError(f"{self.where(name + '.type')} {name}.type: {exc}") from None
        accepted = accepted_keywords(cls)
        section = name.split(".")[0]
        for key, item in value.items():
            if key == "type" or key in ENGINE_KEYS.get(section, ()):
                continue
            if accepted is not None and key not in accepted:
                self.fail(f"{name}.{key}", f"unknown key '{name}.{key}': {registry.name} plugin '{value['type']}' "
                          f"takes no argument '{key}'{_did_you_mean(key, sorted(accepted), name + '.')}; it takes "
                          f"{', '.join(sorted(accepted)) or 'no arguments'}.")
            if isinstance(item, Mapping) and "type" in item and registry.module_dict.get(item["type"]):
                self.part(f"{name}.{key}", registry, item)  # a nested part of the same kind (ConcatFeatures parts)
            elif isinstance(item, (list, tuple)):
                for i, sub in enumerate(item):
                    if isinstance(sub, Mapping) and "type" in sub and registry.module_dict.get(sub["type"]):
                        self.part(f"{name}.{key}.{i}", registry, sub)

    def parts(self, name: str, registry: Any, how: str, value: Any) -> None:
        if how == "per stream":
            self.value(name, value, Rule("mapping"))
            for stream, item in value.items():
                if stream not in STREAMS:
                    self.fail(f"{name}.{stream}", f"unknown stream '{name}.{stream}'"
                              f"{_did_you_mean(str(stream), STREAMS, name + '.')}; {name} accepts "
                              f"{', '.join(STREAMS)}.")
                self.part(f"{name}.{stream}", registry, item)
            return
        items = value if isinstance(value, (list, tuple)) and how != "one" else [value]
        if how == "a list" and not isinstance(value, (list, tuple)):
            self.fail(name, f"{name}={value!r} is not valid: {name} must be a list of dicts, each naming a "
                      f"{registry.name} plugin with 'type'.")
        if how == "one or a list" and not items:
            self.fail(name, f"{name}=[] is not valid: {name} must be a dict naming a {registry.name} plugin with "
                      f"'type', or a non-empty list of them.")
        for i, item in enumerate(items):
            self.part(f"{name}.{i}" if items is value else name, registry, item)

    def model(self, value: Any) -> None:
        self.parts("model", MODELS, "one", value)
        if lookup(MODELS, value["type"]).__name__ == "TIM":
            for key, rule in TIM_RULES.items():
                if key in value:
                    self.value(f"model.{key}", value[key], rule)
        if value.get("head") is not None:
            self.part("model.head", HEADS, value["head"])


def accepted_keywords(obj: Callable) -> set[str] | None:
    """The keyword arguments a registered class or build function takes; None when it takes any (``**kwargs``)."""
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check against
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                 inspect.Parameter.KEYWORD_ONLY) and p.name != "self"}


def resolve(cfg: Mapping[str, Any], source: str, cfg_options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The config's values checked at every depth and resolved (section defaults filled in); the parts a config
    builds are checked against their registered signatures before anything is read."""
    r = _Resolver(source, cfg_options or {})
    for key in cfg:
        if key not in TOP_LEVEL_KEYS:
            r.fail(key, f"unknown config key '{key}'{_did_you_mean(key, sorted(TOP_LEVEL_KEYS))}; known keys: "
                   f"{', '.join(sorted(TOP_LEVEL_KEYS))}.")
    out = dict(cfg)
    for key, rule in SCALARS.items():
        if key in cfg:
            out[key] = r.value(key, cfg[key], rule)
    for name, schema in SECTIONS.items():
        if cfg.get(name) is not None:
            out[name] = r.section(name, schema, cfg[name])
    custom = out.get("custom_imports")
    if custom:  # third-party parts register on import: before their arguments can be checked
        import_custom(custom["imports"], custom["allow_failed_imports"])
    if out.get("extract") is not None:
        r.part("extract.extractor", EXTRACTORS, out["extract"]["extractor"])
    for name, (registry, how) in PARTS.items():
        if cfg.get(name) is None:
            continue
        if name == "model":
            r.model(cfg[name])
        else:
            r.parts(name, registry, how, cfg[name])
    return out
