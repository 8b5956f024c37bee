"""The original TIM feature layout: one ``<video_id>.npy`` per video plus a feature-interval table.

``{folder}/{split}/{video_id}.npy`` holds ``[T, A, D]`` (A stored augmentation copies; ``[T, D]`` is
read as A = 1) and is memory-mapped, never loaded whole. The interval table (CSV, or the
original's pickle only with ``trust_pickle=True``) has one row per feature: ``video_id``,
``start_sec``, ``stop_sec``; rows of a video are sorted by ``start_sec`` and must match its T.
``{split}`` in ``intervals`` is replaced by the split name; a ``{split: file}`` dict names each split's
table (the original TIM takes one interval pickle per split, named freely).
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from tim_bench_registry import FEATURES, DataError, VideoFeatures
from tim_bench_registry.tables import read_table, with_ids


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
        return int(np.load(first, mmap_mode="r").shape[-1])

    def _split_times(self, split: str) -> dict[str, np.ndarray]:
        if split not in self._times:
            path = self.root / self.intervals_file(split)
            table = with_ids(read_table(path, self.trust_pickle, "Feature interval table"), "video_id")
            missing = {"video_id", "start_sec", "stop_sec"} - set(table.columns)
            if missing:
                raise DataError(f"{path} lacks columns {sorted(missing)}; it needs video_id, start_sec, stop_sec.")
            table = table.sort_values(["video_id", "start_sec"], kind="stable")
            self._times[split] = {str(v): g[["start_sec", "stop_sec"]].to_numpy(np.float64)
                                  for v, g in table.groupby("video_id", sort=False)}
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
        return (self.folder / split if self.split_subdirs else self.folder) / f"{video_id}.npy"

    def open(self, split: str, video_id: str) -> VideoFeatures:
        path = self.path(split, video_id)
        if not path.is_file():
            raise DataError(f"Feature file {path} for video {video_id} does not exist; extract it or drop the "
                            f"video from the {split} annotations.")
        values = np.load(path, mmap_mode="r")
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
        return VideoFeatures(times=times, values=values)
