"""Leaderboard tables: runs grouped by recipe, mean and std over seeds, chance rows per evaluation data, a unique best
above chance marked among rows of the same data, delta to
the published row.

Rendering lives in ``formats`` and ``html``; this module only decides what the numbers are::

    tables = build_tables(load_records(), load_references())
    frame = tables_frame(tables)          # one row per table row, machine-readable (the CSV)
"""
from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from .configdiff import SPEED_KEYS, distinguishing_keys, flat_config
from .errors import LeaderboardError
from tim_bench_registry import Chance, LeaderboardSpec

from .chance import KINDS, chance_level, scored_count
from .spec import leaderboard_spec
from .reference import Reference, reference_for_metric, references_for
from .store import recipe_of

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
    """A published reference row (``reference`` set), a chance row computed from the split's class counts
    (``chance``: ``majority`` or ``uniform``), or one recipe's measured runs (``runs``).

    ``name`` is the label without its ``tags`` (measured rows: the config name and the keys that set the recipe
    apart); ``also_named`` lists the other config names whose runs resolved to the same recipe.
    """

    label: str
    split: str
    cells: Mapping[str, Cell]
    runs: tuple[Mapping[str, Any], ...] = ()
    reference: Reference | None = None
    name: str = ""
    tags: tuple[str, ...] = ()
    also_named: tuple[str, ...] = ()
    chance: str = ""
    #: which evaluation data the row scored, where a table holds several (e.g. ``n=400``; '' when one)
    evaluation: str = ""

    @property
    def scored_on(self) -> str:
        """The split column: the split, and which of the table's evaluation data when it holds several."""
        return f"{self.split} ({self.evaluation})" if self.evaluation else self.split

    @property
    def kind(self) -> str:
        """``reference``, ``chance`` or ``measured``."""
        return "reference" if self.reference is not None else "chance" if self.chance else "measured"

    @property
    def seeds(self) -> tuple[int, ...]:
        """The seeds of the runs in this row, ascending."""
        return tuple(sorted(int(r["seed"]) for r in self.runs))

    @property
    def recipe(self) -> str:
        """The recipe hash shared by this row's runs ('' for a reference or chance row; see ``store.recipe_of``)."""
        return recipe_of(self.runs[0]) if self.runs else ""


@dataclass(frozen=True)
class Table:
    """One dataset's leaderboard: reference rows, chance rows, then measured rows, best ``sort_metric`` first.
    ``notes`` say what the chance rows are and anything a reader must know about the measured rows."""

    spec: LeaderboardSpec
    metrics: tuple[str, ...]
    rows: tuple[Row, ...]
    sort_metric: str | None
    notes: tuple[str, ...] = ()

    @property
    def reference_rows(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.kind == "reference")

    @property
    def chance_rows(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.kind == "chance")

    @property
    def measured_rows(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.kind == "measured")


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
    reference rows). ``metrics`` narrows the columns; by default a table shows the metrics of its leaderboard
    spec that any of its rows reports."""
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
    main = mains.most_common(1)[0][0] if mains else None
    spec = leaderboard_spec(dataset, {m for r in runs for m in r["metrics"]}, main)
    refs = references_for(spec, references)
    reported = {m for r in runs for m, v in r["metrics"].items() if v is not None}
    reported |= {m for r in refs for m in r.metrics}
    if wanted:
        metrics = tuple(m for m in wanted if m in reported or m in spec.metrics)
    else:
        metrics = tuple(m for m in spec.metrics if m in reported)
    # the table's main metric is the one the paper's table leads with (the spec's), as in `run` and `compare`
    sort_metric = spec.main if spec.main in metrics else (metrics[0] if metrics else None)

    groups, notes = _recipe_groups(runs)
    labels = _group_labels([(name, recipe, group_runs) for (recipe, _), (name, _, group_runs) in groups.items()])
    measured: list[Row] = []
    for (recipe, split), (name, also, group_runs) in groups.items():
        # runs on generated data are marked, and never compared with the published rows
        synthetic = any(r.get("synthetic_data") for r in group_runs)
        cells = {}
        for m in metrics:
            # each metric from the checkpoint the original reports it from (its per-stream bests)
            values = pd.Series([_number({**r["metrics"], **(r.get("metrics_original_selection") or {})}.get(m))
                                for r in group_runs], dtype=float).dropna()
            ref = None if synthetic else next(filter(None, (reference_for_metric(spec, refs, m, n)
                                                            for n in (name, *also))), None)
            mean = float(values.mean()) if len(values) else None
            cells[m] = Cell(mean, float(values.std(ddof=1)) if len(values) > 1 else None,
                            mean - ref.metrics[m] if mean is not None and ref is not None and ref.split == split
                            else None)
        label, short, tags = labels[(name, recipe)]
        measured.append(Row(label, split, cells, tuple(group_runs), name=short, tags=tags, also_named=also))
        if also:
            notes.append(f"{short}: also run as {', '.join(also)}, the same recipe (equal resolved configs); the row "
                         f"takes the first of the names in alphabetical order.")

    sets = _evaluation_sets(runs)
    measured = [replace(r, evaluation=sets.labels.get(_row_key(r), "")) for r in measured]
    chance_rows, chance_notes, floors = _chance_rows(spec, metrics, runs, sets)
    measured = _mark_best(measured, metrics, floors)
    notes += _evaluation_notes(measured, sets)
    if sort_metric is not None:
        measured.sort(key=lambda r: (r.cells[sort_metric].mean is None, -(r.cells[sort_metric].mean or 0.0), r.label))
    ref_rows = [Row(f"[ref] {r.id}", r.split, {m: Cell(r.metrics[m]) for m in metrics if m in r.metrics}, (), r,
                    name=r.id)
                for r in refs if any(m in r.metrics for m in metrics)]
    return Table(spec, metrics, tuple(ref_rows + chance_rows + measured), sort_metric,
                 tuple(chance_notes + notes))


#: what identifies the data a run was scored on: (split, identity), None when its record does not say
EvalKey = tuple[str, str] | None


def _eval_key(record: Mapping[str, Any]) -> EvalKey:
    """The scored split and what its data is: the data fingerprint's annotations hash (every split's segments and
    labels, as the dataset plugin reads them), else the recorded class counts; None for a record with neither."""
    fingerprint = record.get("data_fingerprint")
    annotations = fingerprint.get("annotations") if isinstance(fingerprint, Mapping) else None
    if isinstance(annotations, Mapping) and annotations.get("sha256"):
        return str(record["split"]), f"annotations {annotations['sha256']}"
    counts = record.get("label_counts")
    if isinstance(counts, Mapping):
        segments = sorted((record.get("task_segments") or {}).items())
        return str(record["split"]), f"counts {sorted(counts.items())!r} {segments!r}"
    return None


def _row_key(row: Row) -> EvalKey:
    """The evaluation data all of a row's runs scored (None when unknown or when they disagree)."""
    keys = {_eval_key(r) for r in row.runs}
    return keys.pop() if len(keys) == 1 else None


@dataclass(frozen=True)
class EvaluationSets:
    """The distinct evaluation data of a table's runs: the first run of each, and each one's label ('' when the
    table holds one, else its size, e.g. ``n=400``, numbered where two would read the same)."""

    first: Mapping[tuple[str, str], Mapping[str, Any]]
    labels: Mapping[tuple[str, str], str]


def _evaluation_sets(runs: Sequence[Mapping[str, Any]]) -> EvaluationSets:
    """Group the table's runs by ``_eval_key`` (a run with counts first, so chance rows have them) and label each."""
    first: dict[tuple[str, str], Mapping[str, Any]] = {}
    for record in runs:
        key = _eval_key(record)
        if key is not None and (key not in first or (first[key].get("label_counts") is None
                                                     and record.get("label_counts") is not None)):
            first[key] = record
    sizes = {key: _size_text(record) for key, record in first.items()}
    shown = Counter((key[0], size) for key, size in sizes.items())
    seen: Counter[tuple[str, str]] = Counter()
    labels = {}
    for key, size in sizes.items():
        seen[(key[0], size)] += 1
        numbered = f"{size} #{seen[(key[0], size)]}" if shown[(key[0], size)] > 1 else size
        labels[key] = numbered if len(first) > 1 else ""
    return EvaluationSets(first, labels)


def _size_text(record: Mapping[str, Any]) -> str:
    """How big the scored split is: its segments per stream (``n=25 visual, 26 audio``; one number when all streams
    agree), else the most labelled segments of a task; ``n=?`` when the record says neither."""
    split = record.get("scored_split")
    segments = split.get("segments") if isinstance(split, Mapping) else None
    if isinstance(segments, Mapping) and segments:
        if len(set(segments.values())) == 1:
            return f"n={next(iter(segments.values()))}"
        return "n=" + ", ".join(f"{n} {stream}" for stream, n in segments.items())
    counts = _label_counts(record)
    return f"n={max(map(sum, counts.values()), default=0)}" if counts else "n=?"


def _mark_best(measured: Sequence[Row], metrics: Sequence[str],
               floors: Mapping[tuple[str, str], Mapping[str, float]]) -> list[Row]:
    """Each row with its best marks: per column, among the rows scored on the same evaluation data only, and only
    above that data's chance level for the column (``floors``); a row whose data is unknown is never marked."""
    keys = [_row_key(row) for row in measured]
    out = []
    for row, key in zip(measured, keys):
        peers = [x for x, k in zip(measured, keys) if key is not None and k == key]
        out.append(replace(row, cells={m: replace(c, best=bool(peers) and _is_best(
            c, [x.cells[m] for x in peers], floors.get(key, {}).get(m))) for m, c in row.cells.items()}))
    return out


def _is_best(cell: Cell, column: Sequence[Cell], chance: float | None = None) -> bool:
    """A best mark needs something to beat and a single winner: the one highest value of a column with two or more
    values, compared as shown (two decimals), and above the data's chance level (when known); a tie marks no row."""
    shown = [round(c.mean, 2) for c in column if c.mean is not None]
    if cell.mean is None or len(shown) < 2:
        return False
    if chance is not None and round(cell.mean, 2) <= round(chance, 2):
        return False
    top = max(shown)
    return round(cell.mean, 2) == top and shown.count(top) == 1


def _evaluation_notes(measured: Sequence[Row], sets: EvaluationSets) -> list[str]:
    """What a reader must know about the evaluation data: rows on different data are not compared, and rows whose
    records do not say which data they scored are marked in no column."""
    notes = []
    if len(sets.first) > 1:
        notes.append("The runs were scored on different evaluation data (split and annotations, from the records' "
                     "data fingerprint): the split column names each row's data, its chance rows carry the same "
                     "name, and a best value is marked among rows of the same data only.")
    unknown = [r.name or r.label for r in measured if _row_key(r) is None]
    if unknown:
        notes.append(f"{', '.join(unknown)}: the records do not say which data they scored (no data fingerprint or "
                     f"class counts: stored by an older tim-bench), so no best value is marked in these rows.")
    return notes


def _recipe_groups(runs: Sequence[Mapping[str, Any]]
                   ) -> tuple[dict[tuple[str, str], tuple[str, tuple[str, ...], list[Mapping[str, Any]]]], list[str]]:
    """{(recipe, split): (config name, other config names, runs)}: one group per recipe identity (the recorded
    ``recipe_hash``, see ``store.recipe_of``) whatever file or override produced it, named after the first of its
    config names in alphabetical order; a seed run more than once counts once, from its newest run (as in
    ``compare``). Also the notes that say so."""
    by_key: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for record in runs:
        by_key.setdefault((recipe_of(record), str(record["split"])), []).append(record)
    groups, notes = {}, []
    for key, group_runs in by_key.items():
        newest = {int(r["seed"]): r for r in sorted(group_runs, key=lambda r: (str(r["created"]), str(r["run_id"])))}
        names = sorted({str(r["config_name"]) for r in group_runs})
        groups[key] = (names[0], tuple(names[1:]), [newest[s] for s in sorted(newest)])
        repeated = sorted(s for s, n in Counter(int(r["seed"]) for r in group_runs).items() if n > 1)
        if repeated:
            notes.append(f"{names[0]} ({key[1]}): seed {', '.join(map(str, repeated))} was run more than once; the "
                         f"newest run of each seed is counted, as `compare` does.")
    return groups, notes


def _chance_rows(spec: LeaderboardSpec, metrics: Sequence[str], runs: Sequence[Mapping[str, Any]],
                 sets: EvaluationSets) -> tuple[list[Row], list[str], dict[tuple[str, str], dict[str, float]]]:
    """The majority-class and uniform-chance rows of each evaluation data of the table's runs, the notes that say
    what they are (or why a table has none), and per data and column the highest chance level (the best mark's
    floor)."""
    used = {m: spec.chance[m] for m in metrics if m in spec.chance}
    if not runs:
        return [], [], {}
    if not used:
        return [], [f"No chance rows: the {spec.name} plugin declares no chance level for these metrics "
                    f"(LeaderboardSpec.chance)."], {}
    unrecorded = [str(r["run_id"]) for r in runs if _label_counts(r) is None]
    notes = [f"No chance level for {len(unrecorded)} run(s) (e.g. {unrecorded[0]}): their records hold no class "
             f"counts (stored before tim-bench recorded label_counts)."] if unrecorded else []
    rows, floors = [], {}
    for key, record in sets.first.items():
        counts = _label_counts(record)
        if counts is None:
            continue
        label = sets.labels[key]
        suffix = f" ({key[0]}, {label})" if label else ""
        levels = {kind: _levels(used, counts, record, kind) for kind, _ in KINDS}
        rows += [Row(title + suffix, key[0], {m: Cell(v) for m, v in levels[kind].items()}, name=title + suffix,
                     chance=kind, evaluation=label) for kind, title in KINDS]
        floors[key] = {m: max(known) for m in used
                       if (known := [lv[m] for lv in levels.values() if lv.get(m) is not None])}
        notes += _denominator_notes(spec, used, counts, record, f"{key[0]} ({label})" if label else key[0])
    if rows:
        notes.insert(0, "Chance rows are computed from the scored split's class counts, not measured: majority "
                        "class always predicts the split's most frequent class (top-k: its k most frequent; mean "
                        "class accuracy: 100/C over the C classes present); uniform chance is the expected score of "
                        "guessing uniformly over all classes (k/C of the labelled segments); each over the "
                        "segments its column's metric scores (a metric that scores unlabelled segments as wrong "
                        "divides by all of them).")
    return rows, notes, floors


def _levels(used: Mapping[str, Chance], counts: Mapping[str, list[int]], record: Mapping[str, Any],
            kind: str) -> dict[str, float | None]:
    """{metric: chance level of ``kind``} of one evaluation data, each over its metric's own denominator."""
    segments = record.get("task_segments") or {}
    return {m: chance_level(counts[c.task], c, kind, segments.get(c.task)) for m, c in used.items()
            if c.task in counts}


def _denominator_notes(spec: LeaderboardSpec, used: Mapping[str, Chance], counts: Mapping[str, list[int]],
                       record: Mapping[str, Any], where: str) -> list[str]:
    """How many segments each column's chance level is over, where the columns of one data differ (e.g. EPIC's
    action@1 scores every visual segment, sound@1 the audio ones), and which levels are unknown."""
    segments = record.get("task_segments") or {}
    over = {m: scored_count(counts[c.task], c, segments.get(c.task)) for m, c in used.items() if c.task in counts}
    groups: dict[int | None, list[str]] = {}
    for m, n in over.items():
        groups.setdefault(n, []).append(spec.label(m))
    notes = []
    if len([n for n in groups if n is not None]) > 1:
        notes.append(f"Chance levels of {where}: " + "; ".join(f"{', '.join(cols)} over {n} segments"
                                                            for n, cols in groups.items() if n is not None) + ".")
    if None in groups:
        notes.append(f"No chance level for {', '.join(groups[None])} on {where}: the metric also scores unlabelled "
                     f"segments and the record does not count them (stored before tim-bench recorded "
                     f"task_segments).")
    return notes


def _label_counts(record: Mapping[str, Any]) -> dict[str, list[int]] | None:
    """The record's per-task class counts, None when it has none; a malformed entry is an error naming the run."""
    counts = record.get("label_counts")
    if counts is None:
        return None
    if not isinstance(counts, Mapping) or not all(
            isinstance(v, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in v)
            for v in counts.values()):
        raise LeaderboardError(f"Run record {record['run_id']} has label_counts that are not lists of class counts "
                               f"per task; fix or remove it (its run's work dir keeps a copy as result.json).")
    return {str(k): list(v) for k, v in counts.items()}


def _tags(group_runs: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """What a row's label must say about how its runs differ from a plain measured row."""
    # runs on generated data are marked, and never compared with the published rows
    tags = ("synthetic data",) if any(r.get("synthetic_data") for r in group_runs) else ()
    # a sampler other than the original's uniform shuffling trains another objective: say so in the row
    samplers = sorted({str(r.get("sampler") or UNRECORDED_SAMPLER) for r in group_runs} - {"uniform"})
    tags += (f"sampler={','.join(samplers)}",) if samplers else ()
    # scores of the training data itself (splits.test=train ...), and numerics other than the original's
    if any(r.get("scored_on_training_data") for r in group_runs):
        tags += ("scored on train",)
    procedures = [r.get("training_procedure") or {} for r in group_runs]
    autocast = sorted({str(p["autocast"]) for p in procedures if p.get("autocast") not in (None, *ORIGINAL_AUTOCAST)})
    stores = sorted({str(p["feature_dtype"]) for p in procedures
                     if p.get("feature_dtype") not in (None, ORIGINAL_FEATURE_DTYPE)})
    tags += ((f"amp={','.join(autocast)}",) if autocast else ()) + \
        ((f"features={','.join(stores)}",) if stores else ())
    worlds = sorted({int(r["world_size"]) for r in group_runs if (r.get("world_size") or 1) != 1})
    return tags + ((f"{','.join(map(str, worlds))} processes",) if worlds else ())


#: at most this many changed config keys are named in a row label (the CSV's recipe_hash tells all rows apart)
MAX_LABEL_KEYS = 3
#: keys a row label never names: the seeds are the row's, speed keys never split rows, the sampler has its tag
_UNNAMED_KEYS = ("seed", "train_cfg.sampler", *SPEED_KEYS)


def _label_value(text: str) -> str:
    """A config value in a label: strings without their JSON quotes."""
    return text[1:-1] if len(text) > 1 and text[0] == text[-1] == '"' else text


def _short_keys(keys: Iterable[str]) -> dict[str, str]:
    """{dotted key: how a label names it}: its last part (``lr`` for ``train_cfg.lr``) where no other shown key
    ends the same, else the whole key."""
    keys = sorted(set(keys))
    last = Counter(k.rsplit(".", 1)[-1] for k in keys)
    return {k: k.rsplit(".", 1)[-1] if last[k.rsplit(".", 1)[-1]] == 1 else k for k in keys}


def _group_labels(groups: Sequence[tuple[str, str, list[Mapping[str, Any]]]]
                  ) -> dict[tuple[str, str], tuple[str, str, tuple[str, ...]]]:
    """{(config name, recipe): (label, name, tags)}: the config name, and where several recipes share it, the
    config keys whose values tell them apart (e.g. ``ave_vgg (lr=0.001)``), then the row's tags (``_tags``) in
    brackets; the recipe hash instead of the keys where a record holds no resolved config or the names would not
    differ."""
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
        short = _short_keys(k for keys in changed for k in keys)
        texts = [", ".join(f"{short[k]}={_label_value(v)}" for k, v in list(keys.items())[:MAX_LABEL_KEYS])
                 + (", …" if len(keys) > MAX_LABEL_KEYS else "") for keys in changed]
        names = [name + (f" ({text})" if text else "") for text in texts]
        readable = "" not in [k for keys in changed for k in keys] and \
            len({(n, tags[r]) for n, r in zip(names, recipes)}) == len(names)
        for recipe, candidate in zip(recipes, names):
            shown = candidate if readable else f"{name}@{recipe[:7]}"
            labels[(name, recipe)] = (shown + "".join(f" [{t}]" for t in tags[recipe]), shown, tags[recipe])
    return labels


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def tables_frame(tables: Iterable[Table]) -> pd.DataFrame:
    """Every row of every table as one machine-readable frame: ``dataset, kind, config, recipe_hash, also_named,
    split, evaluation (which evaluation data, where a table holds several), runs, seeds, source`` then per metric
    ``<metric>``, ``<metric>_std``, ``<metric>_delta`` (the CSV)."""
    rows = []
    for table in tables:
        for row in table.rows:
            out: dict[str, Any] = {
                "dataset": table.spec.name, "kind": row.kind,
                "config": row.reference.id if row.reference else row.label, "recipe_hash": row.recipe,
                "also_named": " ".join(row.also_named), "split": row.split, "evaluation": row.evaluation,
                "runs": len(row.runs),
                "seeds": " ".join(map(str, row.seeds)),
                "source": row.reference.source if row.reference else "split class counts" if row.chance else ""}
            for m in table.metrics:
                cell = row.cells.get(m, Cell(None))
                out.update({m: cell.mean, f"{m}_std": cell.std, f"{m}_delta": cell.delta})
            rows.append(out)
    return pd.DataFrame(rows)
