"""PNG pictures of one run, written to ``<work_dir>/plots/`` (matplotlib, Agg canvas, no display needed).

* ``curves.png``: train loss, learning rate and every validation metric per epoch (``metrics.jsonl``), the best
  epoch (the checkpoint the run was scored with) marked by a dashed line in each panel;
* ``per_class_<task>.png``: top-1 accuracy per class, most frequent class first;
* ``confusion_<task>.png``: the row-normalised confusion matrix, for up to ``MAX_MATRIX_CLASSES`` classes;
  larger label sets get ``confused_pairs_<task>.png`` and ``.csv``, the most frequent confusions instead.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tim_bench_registry.predictions import Predictions, TaskPredictions
from tim_bench_registry.scores import rank_classes

from ..io import write_atomic
from .errors import LeaderboardError

MAX_MATRIX_CLASSES = 50
MAX_BARS = 60
TOP_PAIRS = 20
PLOTS_DIR = "plots"


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))


def read_epoch_log(path: str | Path) -> pd.DataFrame:
    """``metrics.jsonl`` as a frame: ``epoch, lr, train_loss, time_s`` and one ``val/<metric>`` column each."""
    rows = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if entry.get("final") is True:  # the final evaluation `tim-bench run` appends, not an epoch
                continue
            rows.append({"epoch": int(entry["epoch"]), "lr": entry.get("lr"), "train_loss": entry.get("train_loss"),
                         "main_metric": entry.get("main_metric"),
                         **{f"val/{k}": v for k, v in (entry.get("val") or {}).items()}})
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise LeaderboardError(f"{path} line {n} is not an epoch entry ({exc}); each line must be a JSON "
                                   f"object with at least 'epoch'.") from None
    return pd.DataFrame(rows)


def best_epoch_of(log: pd.DataFrame) -> int | None:
    """The first epoch with the highest main validation metric (the trainer keeps a best only when strictly
    greater), or None without validation."""
    mains = log["main_metric"].dropna() if "main_metric" in log else pd.Series(dtype=object)
    column = f"val/{mains.iloc[-1]}" if len(mains) else None
    if column not in log or not log[column].notna().any():
        return None
    return int(log.loc[log[column].astype(float).idxmax(), "epoch"])


def training_curves_figure(log: pd.DataFrame, best_epoch: int | None = None) -> Figure:
    """Three panels against epoch: train loss, learning rate, validation metrics (the main one bold), with
    ``best_epoch`` (default: ``best_epoch_of(log)``) marked in each."""
    fig = Figure(figsize=(13, 3.6))
    ax_loss, ax_lr, ax_val = fig.subplots(1, 3)
    for ax, column, title in ((ax_loss, "train_loss", "train loss"), (ax_lr, "lr", "learning rate")):
        if column in log and log[column].notna().any():
            ax.plot(log["epoch"], log[column].astype(float), marker="o", ms=3)
        ax.set(title=title, xlabel="epoch")
    mains = log["main_metric"].dropna() if "main_metric" in log else pd.Series(dtype=object)
    main = mains.iloc[-1] if len(mains) else None
    for column in (c for c in log.columns if c.startswith("val/")):
        values = log[column].astype(float)
        name = column.removeprefix("val/")
        ax_val.plot(log["epoch"][values.notna()], values.dropna(), marker="o", ms=3, label=name,
                    lw=2.5 if name == main else 1.0)
    best = best_epoch if best_epoch is not None else best_epoch_of(log)
    if best is not None:
        for ax in (ax_loss, ax_lr, ax_val):
            ax.axvline(best, color="tab:green", ls="--", lw=1, label=f"best epoch {best}")
        ax_loss.legend(fontsize=7)
    if any(c.startswith("val/") for c in log.columns) or best is not None:
        ax_val.legend(fontsize=7)
    ax_val.set(title="validation", xlabel="epoch")
    return fig


def plot_training_curves(log: pd.DataFrame, out: str | Path, best_epoch: int | None = None) -> Path:
    """``training_curves_figure`` as a PNG."""
    return _save(training_curves_figure(log, best_epoch), Path(out))


def _labelled(task: TaskPredictions) -> tuple[np.ndarray, np.ndarray]:
    """(labels, top-1 predictions) of the labelled segments."""
    keep = task.labels >= 0
    return task.labels[keep], rank_classes(task.logits[keep], 1)[:, 0]


def _class_name(names: tuple[str, ...], c: int) -> str:
    return (names[c] if c < len(names) else str(c))[:24]


def plot_per_class_accuracy(task: TaskPredictions, class_names: tuple[str, ...], title: str,
                            out: str | Path) -> Path:
    """Top-1 accuracy per class as bars, classes sorted by frequency (the ``MAX_BARS`` most frequent)."""
    labels, pred = _labelled(task)
    frame = pd.DataFrame({"label": labels, "correct": labels == pred}).groupby("label")["correct"].agg(["size", "mean"])
    frame = frame.sort_values("size", ascending=False, kind="stable")
    shown = frame.head(MAX_BARS)
    fig = Figure(figsize=(max(6.0, 0.22 * len(shown) + 2), 4.2))
    ax = fig.subplots()
    x = np.arange(len(shown))
    ax.bar(x, 100 * shown["mean"].to_numpy(), color="tab:blue")
    ax.set_xticks(x, [f"{_class_name(class_names, int(c))} ({n})" for c, n in zip(shown.index, shown["size"])],
                  rotation=90, fontsize=7)
    ax.set(ylim=(0, 100), ylabel="top-1 accuracy (%)",
           title=f"{title}\n{len(shown)} of {len(frame)} classes, most frequent first (segments in brackets)")
    return _save(fig, Path(out))


def confusion_counts(task: TaskPredictions, num_classes: int) -> np.ndarray:
    """[C, C] counts of (true, predicted) over the labelled segments."""
    labels, pred = _labelled(task)
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (labels, pred), 1)
    return counts


def plot_confusion_matrix(counts: np.ndarray, class_names: tuple[str, ...], title: str, out: str | Path) -> Path:
    """The confusion matrix normalised per true class (each row sums to 1 where the class occurs)."""
    rows = counts.sum(axis=1, keepdims=True)
    norm = np.divide(counts, rows, out=np.zeros(counts.shape, dtype=float), where=rows > 0)
    c = len(counts)
    fig = Figure(figsize=(max(5.0, 0.2 * c + 3), max(4.0, 0.2 * c + 2)))
    ax = fig.subplots()
    image = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    names = [_class_name(class_names, i) for i in range(c)]
    ax.set_xticks(range(c), names, rotation=90, fontsize=6)
    ax.set_yticks(range(c), names, fontsize=6)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return _save(fig, Path(out))


def confused_pairs(task: TaskPredictions, class_names: tuple[str, ...], top: int = TOP_PAIRS) -> pd.DataFrame:
    """The ``top`` most frequent (true, predicted) pairs with true != predicted, most frequent first.

    Counted sparsely, so 3,806 action classes never need a dense [C, C] matrix.
    """
    labels, pred = _labelled(task)
    support = pd.Series(labels).value_counts()
    wrong = labels != pred
    pairs, counts = np.unique(np.stack([labels[wrong], pred[wrong]], 1), axis=0, return_counts=True) \
        if wrong.any() else (np.zeros((0, 2), np.int64), np.zeros(0, np.int64))
    order = np.lexsort((pairs[:, 1], pairs[:, 0], -counts))[:top]  # ties: lower true, then predicted id first
    true, predicted, count = pairs[order, 0], pairs[order, 1], counts[order]
    return pd.DataFrame({"true": [_class_name(class_names, int(t)) for t in true],
                         "predicted": [_class_name(class_names, int(p)) for p in predicted],
                         "count": count, "share_of_true": count / support.loc[true].to_numpy()})


def plot_confused_pairs(pairs: pd.DataFrame, title: str, out: str | Path) -> Path:
    """Horizontal bars of the most frequent confusions, the largest on top."""
    fig = Figure(figsize=(7, 0.3 * max(len(pairs), 1) + 1.5))
    ax = fig.subplots()
    y = np.arange(len(pairs))
    ax.barh(y, pairs["count"].to_numpy(), color="tab:red")
    ax.set_yticks(y, [f"{t} → {p}" for t, p in zip(pairs["true"], pairs["predicted"])], fontsize=7)
    ax.invert_yaxis()
    ax.set(xlabel="segments", title=title)
    return _save(fig, Path(out))


def write_run_plots(record: Mapping[str, Any]) -> list[Path]:
    """Every picture of one run into ``<work_dir>/plots/``, from what its work dir holds; the paths written."""
    work_dir = Path(record["work_dir"])
    out_dir = work_dir / PLOTS_DIR
    written: list[Path] = []
    log_path = work_dir / "metrics.jsonl"
    if log_path.is_file():
        log = read_epoch_log(log_path)
        if len(log):
            written.append(plot_training_curves(log, out_dir / "curves.png", record.get("best_epoch")))
    pred_path = record.get("predictions")
    if pred_path and Path(pred_path).is_file():
        predictions = Predictions.load(pred_path)
        for task in predictions.tasks:
            if task.key not in predictions.by_task or not (predictions.by_task[task.key].labels >= 0).any():
                continue
            scores = predictions.by_task[task.key]
            title = f"{record['run_id']} {task.key} ({predictions.split})"
            written.append(plot_per_class_accuracy(scores, task.class_names, title,
                                                   out_dir / f"per_class_{task.key}.png"))
            if task.num_classes <= MAX_MATRIX_CLASSES:
                written.append(plot_confusion_matrix(confusion_counts(scores, task.num_classes), task.class_names,
                                                     title, out_dir / f"confusion_{task.key}.png"))
            else:
                pairs = confused_pairs(scores, task.class_names)
                csv = out_dir / f"confused_pairs_{task.key}.csv"
                written.append(write_atomic(csv, lambda tmp: pairs.to_csv(tmp, index=False)))
                written.append(plot_confused_pairs(pairs, f"{title}: most frequent confusions",
                                                   out_dir / f"confused_pairs_{task.key}.png"))
    return written


def run_plot_files(record: Mapping[str, Any]) -> list[Path]:
    """The pictures (and confusion lists) already in a run's ``plots/`` folder, by name."""
    if not record.get("work_dir"):
        return []
    folder = Path(record["work_dir"]) / PLOTS_DIR
    return sorted(p for p in folder.glob("*") if p.suffix in (".png", ".csv")) if folder.is_dir() else []
