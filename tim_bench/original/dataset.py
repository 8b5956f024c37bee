"""Annotations in the original TIM's own layout (its ground-truth pickles), for any dataset it trains on.

The original reads, per stream and split, a pandas DataFrame indexed by segment id with columns
``video_id``, ``start_timestamp`` and ``stop_timestamp`` (``HH:MM:SS.ff``) and class-id columns
(visual: ``verb_class``, ``noun_class``, ``action_class``; audio: ``class_id``), plus one video-info
table (index ``video_id``, column ``duration`` in seconds). ``tim-bench from-tim-args`` points this
plugin at those files. Pickles are read only with ``trust_pickle=True`` (unpickling can run code);
the same tables as CSV (ids in a ``narration_id`` column) need no trust.

Segment ids are the table's ids as stored (the original adds ``v_``/``a_`` prefixes in memory only). A missing label
column leaves that task unlabelled (-1), as the original does for verb and noun.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from tim_bench_registry import DATASETS, IGNORE_LABEL, STREAMS, DataError, SplitAnnotations, Task
from tim_bench_registry.tables import class_ids, read_durations, read_table, segments_of, with_ids

ID_COLUMN = "narration_id"


@DATASETS.register_module()
class OriginalTIMAnnotations:
    """The original TIM's annotation tables, one file per stream and split.

    Args:
        data_root: folder the file names are relative to (absolute names are used as they are).
        files: ``{stream: {split: file}}``, e.g. ``{"visual": {"train": "AVE_train.pkl", "val": ...}}``.
        video_info: the video-info table (``duration`` per ``video_id``).
        tasks: ``{stream: [[name, num_classes, label_column], ...]}`` for every stream with files; the last
            task of a stream is the one the original calls ``action``. ``tim-bench from-tim-args`` writes the
            ones the original's ``--dataset`` builds.
        trust_pickle: allow reading pickles.
    """

    def __init__(self, data_root: str, files: Mapping[str, Mapping[str, str]], video_info: str,
                 tasks: Mapping[str, Sequence[Sequence]] | None = None, trust_pickle: bool = False) -> None:
        self.root = Path(data_root)
        unknown = set(files) - set(STREAMS)
        if unknown:
            raise DataError(f"OriginalTIMAnnotations files has streams {sorted(unknown)}; use {STREAMS}.")
        self.files = {s: dict(files[s]) for s in STREAMS if files.get(s)}
        self.video_info, self.trust_pickle = self.root / video_info, trust_pickle
        specs = tasks or {}
        self.columns: dict[str, str] = {}
        task_list = []
        for stream in self.files:
            if not specs.get(stream):
                raise DataError(f"OriginalTIMAnnotations has {stream} files but no {stream} tasks; add "
                                f"tasks={{'{stream}': [[name, num_classes, label_column]]}}.")
            for name, num_classes, column in specs[stream]:
                task = Task(stream, str(name), int(num_classes))
                self.columns[task.key] = str(column)
                task_list.append(task)
        self._tasks = tuple(task_list)

    def splits(self) -> tuple[str, ...]:
        per_stream = [set(f) for f in self.files.values()]
        common = set.intersection(*per_stream) if per_stream else set()
        return tuple(s for s in next(iter(self.files.values()), {}) if s in common)

    def tasks(self) -> tuple[Task, ...]:
        return self._tasks

    def _durations(self) -> dict[str, float]:
        return read_durations(self.video_info, self.trust_pickle)

    def _stream(self, stream: str, split: str) -> pd.DataFrame:
        path = self.root / self.files[stream][split]
        table = with_ids(read_table(path, self.trust_pickle, f"Original TIM {stream} {split} annotation"), ID_COLUMN)
        missing = {"video_id", "start_timestamp", "stop_timestamp"} - set(table.columns)
        if missing:
            raise DataError(f"{path} lacks columns {sorted(missing)}; the original TIM's annotation tables have "
                            f"video_id, start_timestamp and stop_timestamp.")
        ids = table[ID_COLUMN].astype(str)
        segments = segments_of(table, path, ID_COLUMN, stream)
        for task in self._tasks:
            column = self.columns[task.key]
            if task.stream != stream or column not in table.columns:
                segments[task.key] = IGNORE_LABEL
                continue
            segments[task.key] = class_ids(table, column, ids, path, task.num_classes, allow_ignore=True)
        return segments

    def load(self, split: str) -> SplitAnnotations:
        if split not in self.splits():
            raise DataError(f"OriginalTIMAnnotations has files for splits {self.splits()}; the config asks for "
                            f"'{split}'.")
        segments = pd.concat([self._stream(s, split) for s in self.files], ignore_index=True)
        all_durations = self._durations()
        durations = {v: all_durations[v] for v in segments["video_id"].unique() if v in all_durations}
        labels = segments[[t.key for t in self._tasks]].to_numpy()
        source = " + ".join(dict.fromkeys(str(self.root / self.files[s][split]) for s in self.files))
        return SplitAnnotations(segments=segments, durations=durations, tasks=self._tasks,
                                labelled=bool((labels != IGNORE_LABEL).any()), source=source)
