"""What a run's numbers mean: the size of the split it scored, chance levels from that split's labels, the
metric groups left empty (and why), and how much of a timestamps file each submission covers."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tim_bench_registry import IGNORE_LABEL, STREAMS, SplitAnnotations


def split_summary(name: str, annotations: SplitAnnotations, query_rows: np.ndarray | None = None,
                  windows: int | None = None) -> dict[str, Any]:
    """Sizes of split ``name`` (videos, segments and queries per stream, windows) and, per task, its class counts
    and chance levels in percent: ``chance_majority`` (always the split's most frequent class) and
    ``chance_uniform`` (a uniformly random class). ``query_rows``: the segments-table row of every window query."""
    seg = annotations.segments
    streams = [s for s in STREAMS if (seg["stream"] == s).any()]
    out: dict[str, Any] = {"name": name, "videos": int(seg["video_id"].nunique()),
                           "segments": {s: int((seg["stream"] == s).sum()) for s in streams}}
    if query_rows is not None:
        per_row = seg["stream"].to_numpy()[np.asarray(query_rows, dtype=np.int64)]
        out["queries"] = {s: int((per_row == s).sum()) for s in streams}
    if windows is not None:
        out["windows"] = int(windows)
    tasks: dict[str, Any] = {}
    for task in annotations.tasks if annotations.labelled else ():
        labels = seg[task.key].to_numpy(np.int64)
        labels = labels[labels != IGNORE_LABEL]
        counts = np.bincount(labels, minlength=task.num_classes) if len(labels) else np.zeros(task.num_classes, int)
        majority = int(counts.argmax())
        tasks[task.key] = {
            "labelled": int(len(labels)), "segments": int((seg["stream"] == task.stream).sum()),
            "num_classes": int(task.num_classes),
            "classes_present": int((counts > 0).sum()), "majority_class": majority,
            "chance_majority": round(100.0 * counts[majority] / len(labels), 4) if len(labels) else None,
            "chance_uniform": round(100.0 / task.num_classes, 4),
            "class_counts": {str(c): int(n) for c, n in enumerate(counts) if n}}
    if tasks:
        out["tasks"] = tasks
    return out


def describe_split(summary: dict[str, Any]) -> list[str]:
    """Log lines for ``split_summary``: sizes, then one chance line per task."""
    sizes = ", ".join(f"{n} {s} segments" for s, n in summary["segments"].items())
    if "queries" in summary:
        sizes += " (" + ", ".join(f"{n} {s} queries" for s, n in summary["queries"].items()) + \
                 f" in {summary.get('windows', '?')} windows)"
    lines = [f"split '{summary['name']}': {summary['videos']} videos, {sizes}"]
    for key, t in summary.get("tasks", {}).items():
        majority = "n/a (no labelled segment)" if t["chance_majority"] is None else \
            f"{t['chance_majority']:.2f}% (always class {t['majority_class']})"
        # a metric that also scores the unlabelled segments (as wrong) has a lower level: the leaderboard gives it
        among = "" if t.get("segments", t["labelled"]) == t["labelled"] else \
            f" of {t['segments']} segments; a metric scoring all {t['segments']} has its own level (leaderboard)"
        lines.append(f"  {key}: {t['labelled']} labelled, {t['classes_present']} of {t['num_classes']} classes "
                     f"present; chance among the labelled: majority class {majority}, uniform "
                     f"{t['chance_uniform']:.2f}%{among}")
    return lines


def empty_metric_groups(metric: Any, annotations: SplitAnnotations) -> dict[str, str]:
    """{group: why it has no metrics} from a metric's optional ``empty_groups(annotations)`` (e.g. EPIC-100's
    unseen-participant rows when no scored segment is from an unseen participant); {} when it has none."""
    probe = getattr(metric, "empty_groups", None)
    return dict(probe(annotations)) if callable(probe) else {}


def submission_coverage(writer: Any, out: Path, synthetic: bool) -> dict[str, Any]:
    """Which timestamps file the submission ``out`` was checked against and how many segments it lists (the
    writer refuses any missing or extra id, so the submission holds exactly those)."""
    timestamps = getattr(writer, "timestamps", None)
    entry: dict[str, Any] = {"file": str(out), "timestamps": str(timestamps) if timestamps else None,
                             "synthetic_data": synthetic}
    if timestamps:
        entry["segments"] = int(len(pd.read_csv(timestamps, usecols=[0])))
    return entry


def describe_submission(entry: dict[str, Any]) -> str:
    """One log line for ``submission_coverage``."""
    name = Path(entry["file"]).name
    if entry["timestamps"] is None:
        return (f"submission {name}: not checked against a timestamps file (the writer has no `timestamps`); it "
                f"holds the test split's predictions as they are")
    line = f"submission {name}: all {entry['segments']} segments listed in {entry['timestamps']}"
    if entry["synthetic_data"]:
        line += (" - synthetic data: that is the generator's (trimmed) timestamps file, not the challenge's test "
                 "set; do not upload it")
    return line
