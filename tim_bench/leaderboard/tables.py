"""Leaderboard tables: runs grouped by config, mean and std over seeds, best marked, delta to the published row.

Rendering lives in ``formats`` and ``html``; this module only decides what the numbers are::

    tables = build_tables(load_records(), load_references())
    frame = tables_frame(tables)          # one row per table row, machine-readable (the CSV)
"""
from __future__ import annotations

import fnmatch
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from .configdiff import SPEED_KEYS, distinguishing_keys, flat_config
from .errors import LeaderboardError
from tim_bench_registry import DatasetSpec

from .headline import headline_for
from .reference import Reference, reference_for_metric, references_for
from .store import recipe_of

_GROUP_KEYS = ["config_name", "recipe", "split"]

#: records written before the sampler was recorded (tim-bench up to commit 92ed185) all trained with windows
#: bucketed by query count, which is not the original's objective
UNRECORDED_SAMPLER = "bucketed"
#: what the original computes in (``training_procedure`` values, see tim_bench.runner.precision): other values mark rows
ORIGINAL_AUTOCAST = ("float16", "off")
ORIGINAL_FEATURE_DTYPE = "float32"


@dataclass(frozen=True)
class Cell:
    """One metric of one row: mean over the row's runs, sample std (None for one run), delta to the reference."""

    mean: float | None
    std: float | None = None
    delta: float | None = None
    best: bool = False


@dataclass(frozen=True)
class Row:
    """A published reference row (``reference`` set) or one config's measured runs (``runs``)."""

    label: str
    split: str
    cells: Mapping[str, Cell]
    runs: tuple[Mapping[str, Any], ...] = ()
    reference: Reference | None = None

    @property
    def seeds(self) -> tuple[int, ...]:
        """The seeds of the runs in this row, ascending."""
        return tuple(sorted(int(r["seed"]) for r in self.runs))

    @property
    def recipe(self) -> str:
        """The recipe hash shared by this row's runs ('' for a reference row; see ``store.recipe_of``)."""
        return recipe_of(self.runs[0]) if self.runs else ""


@dataclass(frozen=True)
class Table:
    """One dataset's leaderboard: reference rows first, then measured rows, best ``sort_metric`` first."""

    spec: DatasetSpec
    metrics: tuple[str, ...]
    rows: tuple[Row, ...]
    sort_metric: str | None

    @property
    def reference_rows(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.reference is not None)

    @property
    def measured_rows(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.reference is None)


def parse_since(text: str) -> datetime:
    """A ``--since`` value (ISO date or date-time; UTC when no zone is given) as an aware datetime."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise LeaderboardError(f"--since {text!r} is not an ISO date; write e.g. 2026-11-24 or "
                               f"2026-11-24T21:00.") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _created(record: Mapping[str, Any]) -> datetime:
    when = datetime.fromisoformat(str(record["created"]))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def select_records(records: Iterable[Mapping[str, Any]], *, datasets: Sequence[str] = (),
                   since: datetime | None = None, config_glob: str | None = None) -> list[Mapping[str, Any]]:
    """The records of the named datasets (any case; all when empty), created at or after ``since``,
    whose config name matches ``config_glob`` (fnmatch)."""
    wanted = {d.lower() for d in datasets}
    return [r for r in records
            if (not wanted or str(r["dataset"]).lower() in wanted)
            and (since is None or _created(r) >= since)
            and (config_glob is None or fnmatch.fnmatchcase(str(r["config_name"]), config_glob))]


def build_tables(records: Iterable[Mapping[str, Any]], references: Iterable[Reference], *,
                 datasets: Sequence[str] = (), metrics: Sequence[str] = ()) -> list[Table]:
    """One table per dataset that has runs, plus each dataset named in ``datasets`` (even with only
    reference rows). ``metrics`` narrows the columns; by default a table shows its headline metrics
    that any of its rows reports."""
    records, references = list(records), list(references)
    by_dataset: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        by_dataset.setdefault(str(record["dataset"]), []).append(record)
    known = {d.lower(): d for d in [*by_dataset, *(r.dataset for r in references)]}
    for name in datasets:
        if name.lower() not in known:
            raise LeaderboardError(f"No run or reference row is for dataset '{name}'; known datasets: "
                                   f"{', '.join(sorted(known.values()))}.")
        by_dataset.setdefault(known[name.lower()], [])
    tables = [_build_table(name, runs, references, metrics) for name, runs in sorted(by_dataset.items())]
    if metrics:
        shown = {m for t in tables for m in t.metrics}
        unknown = [m for m in metrics if m not in shown]
        if unknown:
            available = sorted({m for r in records for m in r["metrics"]} | {m for t in tables for m in t.spec.metrics})
            raise LeaderboardError(f"--metric {', '.join(unknown)} is in none of the selected tables; available "
                                   f"metrics: {', '.join(available)}.")
    return tables


def _build_table(dataset: str, runs: list[Mapping[str, Any]], references: list[Reference],
                 wanted: Sequence[str]) -> Table:
    mains = Counter(str(r["main_metric"]) for r in runs if r.get("main_metric"))
    main_metric = mains.most_common(1)[0][0] if mains else None
    spec = headline_for(dataset, {m for r in runs for m in r["metrics"]}, main_metric)
    refs = references_for(spec, references)
    reported = {m for r in runs for m, v in r["metrics"].items() if v is not None}
    reported |= {m for r in refs for m in r.metrics}
    if wanted:
        metrics = tuple(m for m in wanted if m in reported or m in spec.metrics)
    else:
        metrics = tuple(m for m in spec.metrics if m in reported)
    sort_metric = main_metric if main_metric in metrics else (metrics[0] if metrics else None)

    frame = pd.DataFrame([{"config_name": r["config_name"], "recipe": recipe_of(r), "split": r["split"],
                           # each metric from the checkpoint the original reports it from (its per-stream bests)
                           "_index": i, **{m: _number({**r["metrics"], **(r.get("metrics_original_selection") or {})}
                                                      .get(m)) for m in metrics}}
                          for i, r in enumerate(runs)],
                         columns=[*_GROUP_KEYS, "_index", *metrics])
    groups = list(frame.groupby(_GROUP_KEYS, sort=False, dropna=False))
    labels = _group_labels([(str(key[0]), str(key[1]), [runs[i] for i in group["_index"]]) for key, group in groups])
    measured: list[Row] = []
    for (name, recipe, split), group in groups:
        # runs on generated data are marked, and never compared with the published rows
        synthetic = any(runs[i].get("synthetic_data") for i in group["_index"])
        cells = {}
        for m in metrics:
            values = group[m].dropna()
            ref = None if synthetic else reference_for_metric(spec, refs, m, str(name))
            mean = float(values.mean()) if len(values) else None
            cells[m] = Cell(mean, float(values.std(ddof=1)) if len(values) > 1 else None,
                            mean - ref.metrics[m] if mean is not None and ref is not None and ref.split == split
                            else None)
        label = labels[(str(name), str(recipe))]
        measured.append(Row(label, str(split), cells, tuple(runs[i] for i in group["_index"])))

    # a best mark needs something to beat: only columns where two or more rows have a value get one
    values = {m: [r.cells[m].mean for r in measured if r.cells[m].mean is not None] for m in metrics}
    best = {m: max(v) if len(v) > 1 else None for m, v in values.items()}
    measured = [replace(r, cells={m: replace(c, best=c.mean is not None and best[m] is not None
                                             and math.isclose(c.mean, best[m], abs_tol=1e-9))
                                  for m, c in r.cells.items()}) for r in measured]
    if sort_metric is not None:
        measured.sort(key=lambda r: (r.cells[sort_metric].mean is None, -(r.cells[sort_metric].mean or 0.0), r.label))
    ref_rows = [Row(f"[ref] {r.id}", r.split, {m: Cell(r.metrics[m]) for m in metrics if m in r.metrics}, (), r)
                for r in refs if any(m in r.metrics for m in metrics)]
    return Table(spec, metrics, tuple(ref_rows + measured), sort_metric)


def _tags(group_runs: Sequence[Mapping[str, Any]]) -> str:
    """What a row's label must say about how its runs differ from a plain measured row."""
    # runs on generated data are marked, and never compared with the published rows
    tags = " [synthetic data]" if any(r.get("synthetic_data") for r in group_runs) else ""
    # a sampler other than the original's uniform shuffling trains another objective: say so in the row
    samplers = sorted({str(r.get("sampler") or UNRECORDED_SAMPLER) for r in group_runs} - {"uniform"})
    tags += f" [sampler={','.join(samplers)}]" if samplers else ""
    # scores of the training data itself (splits.test=train ...), and numerics other than the original's
    if any(r.get("scored_on_training_data") for r in group_runs):
        tags += " [scored on train]"
    procedures = [r.get("training_procedure") or {} for r in group_runs]
    autocast = sorted({str(p["autocast"]) for p in procedures if p.get("autocast") not in (None, *ORIGINAL_AUTOCAST)})
    stores = sorted({str(p["feature_dtype"]) for p in procedures
                     if p.get("feature_dtype") not in (None, ORIGINAL_FEATURE_DTYPE)})
    tags += (f" [amp={','.join(autocast)}]" if autocast else "") + (f" [features={','.join(stores)}]" if stores else "")
    worlds = sorted({int(r["world_size"]) for r in group_runs if (r.get("world_size") or 1) != 1})
    return tags + (f" [{','.join(map(str, worlds))} processes]" if worlds else "")


#: at most this many changed config keys are named in a row label (the CSV's recipe_hash tells all rows apart)
MAX_LABEL_KEYS = 3
#: keys a row label never names: the seeds are the row's, speed keys never split rows, the sampler has its tag
_UNNAMED_KEYS = ("seed", "train_cfg.sampler", *SPEED_KEYS)


def _label_value(text: str) -> str:
    """A config value in a label: strings without their JSON quotes."""
    return text[1:-1] if len(text) > 1 and text[0] == text[-1] == '"' else text


def _group_labels(groups: Sequence[tuple[str, str, list[Mapping[str, Any]]]]) -> dict[tuple[str, str], str]:
    """{(config name, recipe): row label}: the config name, and where several recipes share it, the config keys
    whose values tell them apart (e.g. ``ave_vgg [train_cfg.lr=0.001]``), then the row's tags (``_tags``); the
    recipe hash instead of the keys where a record holds no resolved config or the labels would not differ."""
    by_name: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
    for name, recipe, group_runs in groups:
        by_name.setdefault(name, {}).setdefault(recipe, []).extend(group_runs)
    labels = {}
    for name, recipes in by_name.items():
        tags = {recipe: _tags(group_runs) for recipe, group_runs in recipes.items()}
        configs = [flat_config(group_runs[0]) for group_runs in recipes.values()]
        if len(recipes) == 1:
            changed = [{}]
        elif all(c is not None for c in configs):
            changed = distinguishing_keys(configs, _UNNAMED_KEYS)
        else:
            changed = [{"": ""}] * len(recipes)  # unknown: fall back to the hash below
        texts = [", ".join(f"{k}={_label_value(v)}" for k, v in list(keys.items())[:MAX_LABEL_KEYS])
                 + (", …" if len(keys) > MAX_LABEL_KEYS else "") for keys in changed]
        candidates = [name + (f" [{text}]" if text else "") + tags[recipe] for recipe, text in zip(recipes, texts)]
        readable = "" not in [k for keys in changed for k in keys] and len(set(candidates)) == len(candidates)
        for (recipe, candidate) in zip(recipes, candidates):
            labels[(name, recipe)] = candidate if readable else f"{name}@{recipe[:7]}{tags[recipe]}"
    return labels


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def tables_frame(tables: Iterable[Table]) -> pd.DataFrame:
    """Every row of every table as one machine-readable frame: ``dataset, kind, config, recipe_hash, split,
    runs, seeds, source`` then per metric ``<metric>``, ``<metric>_std``, ``<metric>_delta`` (the CSV)."""
    rows = []
    for table in tables:
        for row in table.rows:
            out: dict[str, Any] = {
                "dataset": table.spec.name, "kind": "reference" if row.reference else "measured",
                "config": row.reference.id if row.reference else row.label, "recipe_hash": row.recipe,
                "split": row.split, "runs": len(row.runs), "seeds": " ".join(map(str, row.seeds)),
                "source": row.reference.source if row.reference else ""}
            for m in table.metrics:
                cell = row.cells.get(m, Cell(None))
                out.update({m: cell.mean, f"{m}_std": cell.std, f"{m}_delta": cell.delta})
            rows.append(out)
    return pd.DataFrame(rows)
