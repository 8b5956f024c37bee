"""EPIC-Sounds audio-based interaction recognition (Huh et al., ICASSP 2023) from its official annotation files.

One audio-stream task, ``interaction`` (44 classes, ``background`` is id 13), named by the
``class``/``class_id`` columns of the labelled files. Files, relative to ``data_root/folder``:
``split_files`` (CSV, or pickle only with ``trust_pickle=True``, e.g. the original TIM's audio
pickles; a file without ``class_id`` is an unlabelled split such as
``EPIC_Sounds_recognition_test_timestamps.csv``) and ``video_info``, the EPIC-KITCHENS-100
video info that EPIC-Sounds shares (default ``../epic-kitchens-100/EPIC_100_video_info.csv``, i.e.
``data_root`` holds ``epic-kitchens-100/`` and ``epic-sounds/``).
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from tim_bench_registry import DATASETS, IGNORE_LABEL, DataError, SplitAnnotations, Task

NUM_CLASSES = 44
SPLIT_FILES = {"train": "EPIC_Sounds_train.csv", "val": "EPIC_Sounds_validation.csv",
               "test": "EPIC_Sounds_recognition_test_timestamps.csv"}
ID_COLUMN = "annotation_id"
PICKLE_SUFFIXES = (".pkl", ".pickle")


def read_table(path: Path, trust_pickle: bool, what: str) -> pd.DataFrame:
    """A CSV, or a pickled DataFrame only when the user trusts it (unpickling can run code)."""
    if not path.is_file():
        raise DataError(f"EPIC-Sounds {what} file {path} does not exist; fix data_root or the file name in the "
                        f"dataset config, or run `tim-bench make-synthetic epic DIR`.")
    if path.suffix not in PICKLE_SUFFIXES:
        return pd.read_csv(path)
    if not trust_pickle:
        raise DataError(f"{path} is a pickle, which can run code when loaded; use the official CSV or set "
                        f"trust_pickle=True in the dataset config if you trust its source.")
    table = pd.read_pickle(path)
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"{path} holds a {type(table).__name__}, not a pandas DataFrame.")
    return table


def seconds(column: pd.Series, ids: pd.Series, path: Path) -> np.ndarray:
    """``HH:MM:SS.fff`` timestamps (or numbers of seconds) -> float seconds; a malformed one names its row."""
    if pd.api.types.is_numeric_dtype(column):
        values = column.astype(float)
    else:
        parts = column.astype(str).str.split(":", expand=True).reindex(columns=range(3))
        hms = parts.apply(pd.to_numeric, errors="coerce")
        values = hms[0] * 3600 + hms[1] * 60 + hms[2]
    bad = values.isna().to_numpy()
    if bad.any():
        raise DataError(f"{path}: row {ids[bad].iloc[0]} has {column.name} '{column[bad].iloc[0]}', not "
                        f"HH:MM:SS.fff; fix the timestamp.")
    return values.to_numpy(np.float64)


def read_durations(path: Path, trust_pickle: bool) -> dict[str, float]:
    """video_id -> duration (s) from the official video info CSV or the original TIM's pickle (index video_id)."""
    table = read_table(path, trust_pickle, "video info")
    if "video_id" not in table.columns:
        table = table.rename_axis("video_id").reset_index()
    if "duration" not in table.columns:
        raise DataError(f"{path} has no 'duration' column; give EPIC_100_video_info.csv (video_id, duration, ...).")
    return dict(zip(table["video_id"].astype(str), table["duration"].astype(float)))


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
            table = read_table(path, self.trust_pickle, f"{split} annotation")
            if ID_COLUMN not in table.columns:  # the original TIM's pickles keep the ids in the index
                table = table.rename_axis(ID_COLUMN).reset_index()
            missing = {"video_id", "start_timestamp", "stop_timestamp"} - set(table.columns)
            if missing:
                raise DataError(f"{path} lacks columns {sorted(missing)}; give an official EPIC_Sounds_*.csv.")
            self._tables[split] = table
        return self._tables[split]

    def _labels(self, split: str) -> np.ndarray | None:
        """The split's class ids, or None for an unlabelled split; a missing or non-integer id names its row."""
        table, path = self._table(split), self._path(split)
        if "class_id" not in table.columns:
            return None
        values = pd.to_numeric(table["class_id"], errors="coerce")
        bad = (values.isna() | (values != values.round())).to_numpy()
        if bad.any():
            raise DataError(f"{path}: row {table[ID_COLUMN][bad].iloc[0]} has class_id "
                            f"'{table['class_id'][bad].iloc[0]}', not a class id; fix the annotation.")
        return values.to_numpy(np.int64)

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
        ids = table[ID_COLUMN].astype(str)
        labels = self._labels(split)
        segments = pd.DataFrame({"segment_id": ids, "video_id": table["video_id"].astype(str),
                                 "start": seconds(table["start_timestamp"], ids, path),
                                 "stop": seconds(table["stop_timestamp"], ids, path), "stream": "audio",
                                 self._task.key: labels if labels is not None else IGNORE_LABEL})
        all_durations = read_durations(self.video_info, self.trust_pickle)
        durations = {v: all_durations[v] for v in segments["video_id"].unique() if v in all_durations}
        annotations = SplitAnnotations(segments=segments, durations=durations, tasks=self.tasks(),
                                       labelled=labels is not None)
        annotations.validate(str(path))
        return annotations
