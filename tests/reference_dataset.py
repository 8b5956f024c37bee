"""The former per-window dataset (one item per window, then collated), kept as the reference the vectorised
batch gather (tim_bench.data.dataset.WindowBatches) is tested against."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from tim_bench_registry import IGNORE_LABEL, STREAMS, DataError, FeatureSource, VideoFeatures

from tim_bench.data.dataset import QueryTable
from tim_bench.data.windows import Windows


class WindowDataset(Dataset):
    """Each item is one window: features of every stream at the window's feature rows, and its queries.

    In training each feature row takes a random stored augmentation copy (seeded by seed, epoch and
    index, so a resumed run draws the same copies); in evaluation copy 0.
    """

    def __init__(self, windows: Windows, queries: QueryTable, sources: Mapping[str, FeatureSource], split: str,
                 train: bool, seed: int = 0, cache_videos: int = 64) -> None:
        self.windows, self.queries, self.sources = windows, queries, dict(sources)
        self.streams = tuple(s for s in STREAMS if s in self.sources)
        self.query_streams = tuple(s for s in STREAMS if any(t.stream == s for t in queries.tasks))
        self.split, self.train, self.seed = split, train, seed
        self.epoch = 0
        self._cache: OrderedDict[tuple[str, str], VideoFeatures] = OrderedDict()
        self._cache_size = cache_videos

    def __len__(self) -> int:
        return len(self.windows)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _video(self, stream: str, video_id: str) -> VideoFeatures:
        key = (stream, video_id)
        if key not in self._cache:
            self._cache[key] = self.sources[stream].open(self.split, video_id)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return self._cache[key]

    def __getitem__(self, index: int) -> dict:
        w = self.windows
        video, start, size = str(w.video_ids[index]), float(w.start[index]), w.size
        rows = w.feat_idx[index]
        rng = np.random.default_rng([self.seed, self.epoch, index]) if self.train else None
        item: dict = {"index": index, "features": {}, "feature_times": {}, "query_times": {}, "labels": {},
                      "query_rows": {}}
        for s in self.streams:
            vf = self._video(s, video)
            copies = vf.values.shape[1]
            aug = rng.integers(copies, size=len(rows)) if rng is not None and copies > 1 else np.zeros(len(rows), int)
            values = np.asarray(vf.values[rows, aug], dtype=np.float32)
            if not np.isfinite(values).all():
                raise DataError(f"Features of video {video} ({s} stream) hold NaN or inf at rows "
                                f"{sorted(set(rows[~np.isfinite(values).reshape(len(rows), -1).all(1)].tolist()))}; "
                                f"re-extract them.")
            item["features"][s] = values
            item["feature_times"][s] = np.maximum((vf.times[rows] - start) / size, 0.0).astype(np.float32)
        q = slice(w.query_ptr[index], w.query_ptr[index + 1])
        seg_rows = w.query_row[q]
        q_times = np.maximum((np.stack([w.query_start[q], w.query_stop[q]], 1) - start) / size, 0.0)
        for s in self.query_streams:
            mine = self.queries.stream[seg_rows] == STREAMS.index(s)
            item["query_times"][s] = q_times[mine].astype(np.float32)
            item["query_rows"][s] = seg_rows[mine]
            for t_i, task in enumerate(self.queries.tasks):
                if task.stream == s:
                    item["labels"][task.key] = self.queries.labels[seg_rows[mine], t_i]
        return item


def _pad(arrays: Sequence[np.ndarray], fill: float, trailing: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    longest = max((len(a) for a in arrays), default=0)
    out = torch.full((len(arrays), longest, *trailing), fill, dtype=dtype)
    for i, a in enumerate(arrays):
        if len(a):
            out[i, :len(a)] = torch.from_numpy(np.asarray(a))
    return out


def collate_windows(items: Sequence[dict]) -> dict:
    """Stack features; pad queries per stream to this batch's maximum with (0, 0) times and IGNORE_LABEL."""
    first = items[0]
    batch: dict = {"index": torch.tensor([it["index"] for it in items]),
                   "features": {s: torch.from_numpy(np.stack([it["features"][s] for it in items]))
                                for s in first["features"]},
                   "feature_times": {s: torch.from_numpy(np.stack([it["feature_times"][s] for it in items]))
                                     for s in first["feature_times"]},
                   "query_times": {s: _pad([it["query_times"][s] for it in items], 0.0, (2,), torch.float32)
                                   for s in first["query_times"]},
                   "query_rows": {s: _pad([it["query_rows"][s] for it in items], -1, (), torch.int64)
                                  for s in first["query_rows"]},
                   "labels": {k: _pad([it["labels"][k] for it in items], IGNORE_LABEL, (), torch.int64)
                              for k in first["labels"]}}
    return batch
