"""EPIC-Sounds audio-based interaction recognition (Huh et al., ICASSP 2023) from its official annotation files.

One audio-stream task, ``interaction`` (44 classes, ``background`` is id 13), named by the
``class``/``class_id`` columns of the labelled files. Files, relative to ``data_root/folder``:
``split_files`` (CSV, or pickle only with ``trust_pickle=True``, e.g. the original TIM's audio
pickles; a file without ``class_id`` is an unlabelled split such as
``EPIC_Sounds_recognition_test_timestamps.csv``; the ``train`` split must be labelled and must share no
video with the others) and ``video_info``, the EPIC-KITCHENS-100
video info that EPIC-Sounds shares (default ``../epic-kitchens-100/EPIC_100_video_info.csv``, i.e.
``data_root`` holds ``epic-kitchens-100/`` and ``epic-sounds/``).
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from tim_bench_registry import DATASETS, IGNORE_LABEL, DataError, SplitAnnotations, Task
from tim_bench_registry.tables import class_ids, read_durations, read_table, segments_of, with_ids

NUM_CLASSES = 44
SPLIT_FILES = {"train": "EPIC_Sounds_train.csv", "val": "EPIC_Sounds_validation.csv",
               "test": "EPIC_Sounds_recognition_test_timestamps.csv"}
ID_COLUMN = "annotation_id"
TRAIN = "train"
MISSING_HINT = "fix data_root or the file name in the dataset config, or run `tim-bench make-synthetic epic DIR`."


@DATASETS.register_module()
class EPICSounds:
    """EPIC-Sounds interaction recognition on the audio stream."""

    def __init__(self, data_root: str, folder: str = "epic-sounds", split_files: Mapping[str, str | None] | None = None,
                 video_info: str = "../epic-kitchens-100/EPIC_100_video_info.csv", trust_pickle: bool = False) -> None:
        self.root = Path(data_root) / folder
        self.split_files = {s: f for s, f in {**SPLIT_FILES, **(split_files or {})}.items() if f}
        self.video_info, self.trust_pickle = self.root / video_info, trust_pickle
        self._tables: dict[str, pd.DataFrame] = {}
        self._task = Task("audio", "interaction", NUM_CLASSES, self._class_names())

    def _path(self, split: str) -> Path:
        if split not in self.split_files:
            raise DataError(f"EPICSounds has splits {tuple(self.split_files)}; the config asks for '{split}'.")
        return self.root / self.split_files[split]

    def _table(self, split: str) -> pd.DataFrame:
        if split not in self._tables:
            path = self._path(split)
            table = with_ids(read_table(path, self.trust_pickle, f"EPIC-Sounds {split} annotation", MISSING_HINT),
                             ID_COLUMN)
            missing = {"video_id", "start_timestamp", "stop_timestamp"} - set(table.columns)
            if missing:
                raise DataError(f"{path} lacks columns {sorted(missing)}; give an official EPIC_Sounds_*.csv.")
            self._tables[split] = table
        return self._tables[split]

    def _labels(self, split: str) -> np.ndarray | None:
        """The split's class ids, or None for an unlabelled split; a missing or non-integer id names its row."""
        table, path = self._table(split), self._path(split)
        if "class_id" not in table.columns:
            if split == TRAIN:
                raise DataError(f"{path} has no 'class_id' column, but it is the training split, which must be "
                                f"labelled; give the labelled EPIC_Sounds_train.csv.")
            return None
        return class_ids(table, "class_id", table[ID_COLUMN].astype(str), path, NUM_CLASSES)

    def _class_names(self) -> tuple[str, ...]:
        """Names by class id from the ``class`` column of every labelled split; an id no file names keeps its number."""
        names: dict[int, str] = {}
        for split in self.splits():
            table, labels = self._table(split), self._labels(split)
            if labels is not None and "class" in table.columns:
                names.update(zip(labels.tolist(), table["class"].astype(str)))
        return tuple(names.get(c, str(c)) for c in range(NUM_CLASSES))

    def splits(self) -> tuple[str, ...]:
        return tuple(s for s in self.split_files if self._path(s).is_file())

    def tasks(self) -> tuple[Task, ...]:
        return (self._task,)

    def load(self, split: str) -> SplitAnnotations:
        path, table = self._path(split), self._table(split)
        labels = self._labels(split)
        segments = segments_of(table, path, ID_COLUMN, "audio")
        segments[self._task.key] = labels if labels is not None else IGNORE_LABEL
        all_durations = read_durations(self.video_info, self.trust_pickle)
        durations = {v: all_durations[v] for v in segments["video_id"].unique() if v in all_durations}
        return SplitAnnotations(segments=segments, durations=durations, tasks=self.tasks(),
                                labelled=labels is not None, source=str(path))
