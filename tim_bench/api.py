"""The Python API: what the CLI's main commands do, as functions that return values instead of printing.

Every import happens inside the functions, so ``import tim_bench`` stays fast and loads no torch. Overrides
are config keys: ``run("ave_vgg", data_root="d", train_cfg=dict(max_epochs=1))`` merges dicts into the
recipe's sections exactly as ``--cfg-options data_root=d train_cfg.max_epochs=1`` does; dotted keys go in
``cfg_options``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from tim_bench_registry.predictions import Predictions

__all__ = ["RunResult", "TestResult", "download", "leaderboard_table", "load_results", "predict", "run", "test",
           "zoo"]


@dataclass(frozen=True)
class RunResult:
    """A finished run: its id, where its files are, its metrics and the full run record (``result.json``)."""

    run_id: str
    config_name: str
    dataset: str
    split: str
    metrics: Mapping[str, float | None]
    main_metric: str | None
    work_dir: Path
    record: Mapping[str, Any] = field(repr=False)

    @property
    def score(self) -> float | None:
        """The dataset's main metric (e.g. ``acc_fused`` for AVE)."""
        return self.metrics.get(self.main_metric) if self.main_metric else None


@dataclass(frozen=True)
class TestResult:
    """The metrics of one checkpoint on one labelled split, and which file (sha256) was scored."""

    split: str
    metrics: Mapping[str, float]
    checkpoint: Path
    checkpoint_sha256: str


def _options(cfg_options: Mapping[str, Any] | None, overrides: Mapping[str, Any]) -> dict[str, Any]:
    return {**dict(cfg_options or {}), **overrides}


def run(config: str | Path, cfg_options: Mapping[str, Any] | None = None, *, work_dir: str | Path | None = None,
        results_dir: str | Path | None = None, resume: bool = False, overwrite: bool = False,
        **overrides: Any) -> RunResult | None:
    """Train ``config`` (a path or a shipped recipe name), evaluate its best checkpoint and store the record, as
    ``tim-bench run`` does. ``overrides`` are config keys (``seed=1``, ``train_cfg=dict(max_epochs=5)``).
    None on the ranks other than 0 of a distributed run (rank 0 writes and returns the record)."""
    from .runner.jobs import run_experiment
    record = run_experiment(config, _options(cfg_options, overrides), str(work_dir) if work_dir else None,
                            str(results_dir) if results_dir else None, resume=resume, overwrite=overwrite)
    if not record:
        return None
    return RunResult(record["run_id"], record["config_name"], record["dataset"], record["split"],
                     dict(record["metrics"]), record.get("main_metric"), Path(record["work_dir"]), record)


def test(config: str | Path, checkpoint: str | Path, cfg_options: Mapping[str, Any] | None = None, *,
         split: str | None = None, work_dir: str | Path | None = None, trust: bool = False,
         **overrides: Any) -> TestResult:
    """Score ``checkpoint`` (a file or a zoo checkpoint name, fetched and verified) on ``split`` (default: the
    config's val split), as ``tim-bench test``."""
    from .io import sha256_file
    from .runner.jobs import test_checkpoint
    from .modelzoo.download import resolve_checkpoint
    path, _ = resolve_checkpoint(checkpoint)
    scored, metrics = test_checkpoint(config, path, _options(cfg_options, overrides),
                                      str(work_dir) if work_dir else None, split, trust)
    return TestResult(scored, metrics, path, sha256_file(path))


test.__test__ = False  # type: ignore[attr-defined]  # pytest: a function named test is not a test


def predict(config: str | Path, checkpoint: str | Path, cfg_options: Mapping[str, Any] | None = None, *,
            split: str = "test", out: str | Path | None = None, work_dir: str | Path | None = None,
            trust: bool = False, **overrides: Any) -> Predictions:
    """Per-segment logits of ``split`` (averaged over every window that queries a segment), saved to ``out``
    (default ``WORK_DIR/predictions_<split>.npz``) and returned, as ``tim-bench predict``."""
    from tim_bench_registry.predictions import Predictions

    from .runner.jobs import predict as predict_split
    path = predict_split(config, checkpoint, split, out, _options(cfg_options, overrides),
                         str(work_dir) if work_dir else None, trust)
    return Predictions.load(path)


def load_results(results_dir: str | Path | Iterable[str | Path] | None = None) -> pd.DataFrame:
    """One row per stored run (the results store, default as ``tim-bench leaderboard``): ``run_id, config,
    recipe, seed, dataset, split, main_metric, synthetic_data, created, work_dir``, then one column per metric."""
    import pandas as pd

    from .leaderboard.store import load_records, recipe_of
    rows = []
    for r in load_records(results_dir):
        row = {"run_id": r["run_id"], "config": r["config_name"], "recipe": recipe_of(r), "seed": r["seed"],
               "dataset": r["dataset"], "split": r["split"], "main_metric": r.get("main_metric"),
               "synthetic_data": r.get("synthetic_data"), "created": r["created"], "work_dir": r.get("work_dir")}
        rows.append({**row, **{k: v for k, v in (r.get("metrics") or {}).items() if k not in row}})
    columns = ["run_id", "config", "recipe", "seed", "dataset", "split", "main_metric", "synthetic_data",
               "created", "work_dir"]
    return pd.DataFrame(rows, columns=list(dict.fromkeys(columns + [k for row in rows for k in row])))


def leaderboard_table(results_dir: str | Path | Iterable[str | Path] | None = None, *,
                      datasets: Iterable[str] = (), reference: bool = True) -> pd.DataFrame:
    """The leaderboard tables as one DataFrame (the rows ``tim-bench leaderboard --format csv`` writes): per
    recipe the mean, std and delta to the published row of every metric, published rows included."""
    from .leaderboard.reference import load_references
    from .leaderboard.store import load_records
    from .leaderboard.tables import build_tables, select_records, tables_frame
    datasets = tuple(datasets)
    records = select_records(load_records(results_dir), datasets=datasets)
    tables = build_tables(records, load_references() if reference else [], datasets=datasets)
    return tables_frame(tables)


def zoo(pattern: str = "*") -> pd.DataFrame:
    """Every shipped recipe matching ``pattern``: benchmark, kind, published rows, released checkpoints,
    extractor weights and the commands that reproduce each number, as ``tim-bench zoo``."""
    import pandas as pd

    from .modelzoo.catalog import recipes
    return pd.DataFrame([{"recipe": r.name, "kind": r.kind, "benchmark": r.benchmark, "path": str(r.path),
                          "published": {ref.id: dict(ref.metrics) for ref in r.references},
                          "checkpoints": [w.name for w in r.checkpoints],
                          "extractor_weights": [w.name for w in r.extractor_weights],
                          "commands": r.commands()} for r in recipes(pattern)])


def download(name: str) -> Path:
    """The verified cached file of zoo entry ``name`` (downloaded first when missing), as ``tim-bench download``."""
    from .modelzoo.download import fetch
    return fetch(name).path
