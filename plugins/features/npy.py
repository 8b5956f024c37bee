"""The original TIM feature layout: one ``<video_id>.npy`` per video plus a feature-interval table.

``{folder}/{split}/{video_id}.npy`` holds ``[T, A, D]`` (A stored augmentation copies; ``[T, D]`` is
read as A = 1) and is memory-mapped, never loaded whole. The interval table (CSV, or the
original's pickle only with ``trust_pickle=True``) has one row per feature: ``video_id``,
``start_sec``, ``stop_sec``; rows of a video, in table order, are the rows of its file (so their times must
increase) and must match its T. Video ids are refused before anything is opened if they would name a file
outside the feature folder; an unreadable (truncated, garbage) file is a DataError naming it.
``{split}`` in ``intervals`` is replaced by the split name; a ``{split: file}`` dict names each split's
table (the original TIM takes one interval pickle per split, named freely).
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from tim_bench_registry import FEATURES, DataError, VideoFeatures
from tim_bench_registry.paths import safe_join
from tim_bench_registry.tables import read_table, text_ids, with_ids


def load_npy(path: Path) -> np.ndarray:
    """Memory-map one ``.npy`` file; a truncated or garbage file is a DataError naming it."""
    try:
        values = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"Feature file {path} cannot be read ({exc}); it is truncated or not a .npy array: "
                        f"re-extract it.") from None
    if not isinstance(values, np.ndarray) or not np.issubdtype(values.dtype, np.number) or \
            np.issubdtype(values.dtype, np.complexfloating):
        raise DataError(f"Feature file {path} holds {getattr(values, 'dtype', type(values).__name__)} values, not "
                        f"real numbers; re-extract it.")
    return values


@FEATURES.register_module()
class NpyFeatures:
    """One stream's per-video ``.npy`` features with their time intervals."""

    def __init__(self, data_root: str, folder: str, intervals: str | Mapping[str, str], split_subdirs: bool = True,
                 dim: int | None = None, trust_pickle: bool = False) -> None:
        self.root = Path(data_root)
        self.folder = self.root / folder
        self.intervals, self.split_subdirs, self.trust_pickle = intervals, split_subdirs, trust_pickle
        self._times: dict[str, dict[str, np.ndarray]] = {}
        self.dim = dim if dim is not None else self._probe_dim()

    def _probe_dim(self) -> int:
        first = next(self.folder.rglob("*.npy"), None)
        if first is None:
            raise DataError(f"No .npy feature files under {self.folder}; extract features there or fix 'folder'.")
        return int(load_npy(first).shape[-1])

    def _split_times(self, split: str) -> dict[str, np.ndarray]:
        if split not in self._times:
            path = self.root / self.intervals_file(split)
            table = with_ids(read_table(path, self.trust_pickle, "Feature interval table"), "video_id")
            missing = {"video_id", "start_sec", "stop_sec"} - set(table.columns)
            if missing:
                raise DataError(f"{path} lacks columns {sorted(missing)}; it needs video_id, start_sec, stop_sec.")
            video = text_ids(table, "video_id", table["video_id"].astype(str), path)
            times = table[["start_sec", "stop_sec"]].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
            bad = ~np.isfinite(times).all(axis=1)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise DataError(f"{path}: row {i + 1} (video {video.iloc[i]}) has start_sec "
                                f"'{table['start_sec'].iloc[i]}', stop_sec '{table['stop_sec'].iloc[i]}'; feature "
                                f"times must be numbers of seconds: fix the interval table.")
            # table order is the files' row order: grouping keeps it
            self._times[split] = {str(v): times[rows] for v, rows in pd.Series(np.arange(len(table)))
                                  .groupby(video.to_numpy(), sort=False).groups.items()}
        return self._times[split]

    def intervals_file(self, split: str) -> str:
        """The interval table of ``split``, relative to data_root."""
        if isinstance(self.intervals, str):
            return self.intervals.format(split=split)
        if split not in self.intervals:
            raise DataError(f"NpyFeatures in {self.folder} has interval tables for splits {tuple(self.intervals)}; "
                            f"add one for '{split}' to its intervals config.")
        return self.intervals[split]

    def path(self, split: str, video_id: str) -> Path:
        """Where the features of ``video_id`` in ``split`` are stored."""
        return safe_join(self.folder / split if self.split_subdirs else self.folder, video_id, ".npy", root=self.root)

    def open(self, split: str, video_id: str) -> VideoFeatures:
        path = self.path(split, video_id)
        if not path.is_file():
            raise DataError(f"Feature file {path} for video {video_id} does not exist; extract it or drop the "
                            f"video from the {split} annotations.")
        values = load_npy(path)
        if values.ndim == 2:
            values = values[:, None]
        if values.shape[-1] != self.dim:
            raise DataError(f"{path} holds {values.shape[-1]}-d features but this stream is configured as "
                            f"{self.dim}-d; fix the config's dim or the file.")
        times = self._split_times(split).get(video_id)
        if times is None:
            raise DataError(f"Video {video_id} has features in {path} but no rows in "
                            f"{self.intervals_file(split)}.")
        if len(times) != len(values):
            raise DataError(f"{path} has {len(values)} features but the interval table lists {len(times)} for "
                            f"video {video_id}; regenerate one of them.")
        return VideoFeatures(times=times, values=values,
                             source=f"{path} (video {video_id}, times from {self.intervals_file(split)})")
