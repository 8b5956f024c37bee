"""Windows -> batches: index arithmetic on the windows and one vectorised gather per stream from a FeatureStore.

A batch holds each window's feature rows (in training each row takes a random stored augmentation copy,
seeded by seed, epoch and window index so a resumed run draws the same copies; in evaluation copy 0),
their times, and the window's queries per stream padded to the batch's own maximum with (0, 0) times,
row -1 and IGNORE_LABEL (or to the split's maximum, rounded up, after ``pad_queries``: static shapes for a
compiled step), plus ``query_index``: the flat positions of the query slots TIM must compute, which let it skip
the padding. Training batches also carry their mixup draw (``mix``: coefficient and partner permutation).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from tim_bench_registry import IGNORE_LABEL, STREAMS, SplitAnnotations, Task

from .store import FeatureStore
from .windows import Windows


@dataclass(frozen=True)
class QueryTable:
    """The segments table as arrays: stream code per row and one label column per task."""

    stream: np.ndarray   # [N] int8, index into STREAMS
    labels: np.ndarray   # [N, num_tasks] int64
    tasks: tuple[Task, ...]

    @classmethod
    def from_annotations(cls, ann: SplitAnnotations) -> "QueryTable":
        seg = ann.segments
        stream = seg["stream"].map({s: i for i, s in enumerate(STREAMS)}).to_numpy(np.int8)
        labels = np.stack([seg[t.key].to_numpy(np.int64) for t in ann.tasks], axis=1) if ann.tasks else \
            np.zeros((len(seg), 0), np.int64)
        return cls(stream, labels, tuple(ann.tasks))


class WindowBatches(Dataset):
    """Item ``[w1, w2, ...]`` (a batch sampler's list of window indices) is that batch, collated.

    Features come back gathered (host store) or as global ``feature_rows`` for ``finish`` to gather on the
    GPU; the per-window work is only the seeded draw of augmentation copies in training.
    """

    def __init__(self, windows: Windows, queries: QueryTable, store: FeatureStore, train: bool,
                 seed: int = 0, mixup_alpha: float = 0.0) -> None:
        self.windows, self.queries, self.store = windows, queries, store
        self.mixup_alpha = float(mixup_alpha) if train else 0.0
        self.streams = tuple(s for s in STREAMS if s in store.streams)
        self.query_streams = tuple(s for s in STREAMS if any(t.stream == s for t in queries.tasks))
        self.train, self.seed, self.epoch = train, seed, 0
        code = {v: i for i, v in enumerate(store.videos)}
        self.video_code = np.array([code[v] for v in windows.video_ids.tolist()], dtype=np.int64)
        self.query_pad: dict[str, int] = {}

    def split_max_queries(self) -> dict[str, int]:
        """The most queries any window of the split has, per query stream."""
        w = self.windows
        owner = np.repeat(np.arange(len(w)), np.diff(w.query_ptr))
        stream = self.queries.stream[w.query_row]
        return {s: int(np.bincount(owner[stream == STREAMS.index(s)], minlength=len(w)).max(initial=0))
                for s in self.query_streams}

    def pad_queries(self, multiple: int = 8) -> dict[str, int]:
        """Pad every batch's queries to the split maximum rounded up to ``multiple`` (not the batch's own): one
        shape per batch size, so a compiled step compiles once. Padding never changes a real output or the
        loss (padded queries are ignored and attend only to features and themselves). Returns the sizes."""
        self.query_pad = {s: -(-n // multiple) * multiple for s, n in self.split_max_queries().items()}
        return self.query_pad

    def __len__(self) -> int:
        return len(self.windows)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _copies(self, index: np.ndarray, video: np.ndarray, epoch: int) -> dict[str, np.ndarray]:
        """[B, F] augmentation copy per stream: one generator per window, streams drawn in order."""
        f = self.windows.feat_idx.shape[1]
        aug = {s: np.zeros((len(index), f), np.int64) for s in self.streams}
        copies = {s: self.store.streams[s].copies[video] for s in self.streams}
        if not self.train or all((c <= 1).all() for c in copies.values()):
            return aug
        for i, w in enumerate(index.tolist()):
            rng = np.random.default_rng([self.seed, epoch, w])
            for s in self.streams:
                if copies[s][i] > 1:
                    aug[s][i] = rng.integers(copies[s][i], size=f)
        return aug

    def _mix(self, index: np.ndarray, epoch: int) -> dict[str, torch.Tensor] | None:
        """The batch's mixup draw (coefficient ~ Beta(alpha, alpha), partner permutation), seeded by seed, epoch
        and the batch's first window, so a resumed run mixes the same pairs; None without mixup."""
        if self.mixup_alpha <= 0 or not len(index):
            return None
        rng = np.random.default_rng([self.seed, epoch, 7, int(index[0])])
        lam = rng.beta(self.mixup_alpha, self.mixup_alpha)
        return {"lam": torch.tensor(lam, dtype=torch.float32), "perm": torch.from_numpy(rng.permutation(len(index)))}

    def __getitem__(self, batch: Sequence[int]) -> dict:
        """The collated batch; drawn for the epoch the batch carries (``EpochBatch``), else for ``set_epoch``'s."""
        w = self.windows
        epoch = getattr(batch, "epoch", self.epoch)
        index = np.asarray(batch, dtype=np.int64)
        video, start = self.video_code[index], w.start[index]
        rows = w.feat_idx[index]
        aug = self._copies(index, video, epoch)
        out: dict = {"index": torch.from_numpy(index), "features": {}, "feature_rows": {}, "feature_times": {},
                     "query_times": {}, "labels": {}, "query_rows": {}, "query_index": {}}
        for s in self.streams:
            st = self.store.streams[s]
            global_rows = st.offset[video][:, None] + rows * st.copies[video][:, None] + aug[s]
            if self.store.on_gpu:  # gathered on the device by finish_batch
                out["feature_rows"][s] = torch.from_numpy(global_rows)
            else:
                out["features"][s] = self.store.gather(s, global_rows)
            times = st.times[st.time_offset[video][:, None] + rows]
            out["feature_times"][s] = torch.from_numpy(
                np.maximum((times - start[:, None, None]) / w.size, 0.0).astype(np.float32))
        mix = self._mix(index, epoch)
        if mix is not None:
            out["mix"] = mix
        lengths = w.query_ptr[index + 1] - w.query_ptr[index]
        owner = np.repeat(np.arange(len(index)), lengths)
        flat = np.repeat(w.query_ptr[index] - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        seg_rows = w.query_row[flat]
        q_times = np.maximum((np.stack([w.query_start[flat], w.query_stop[flat]], 1) - start[owner, None]) / w.size,
                             0.0).astype(np.float32)
        for s in self.query_streams:
            mine = np.flatnonzero(self.queries.stream[seg_rows] == STREAMS.index(s))
            who = owner[mine]
            count = np.bincount(who, minlength=len(index))
            pos = np.arange(len(mine)) - np.repeat(np.cumsum(count) - count, count)
            longest = self.query_pad.get(s, int(count.max()) if len(index) else 0)
            qt = np.zeros((len(index), longest, 2), np.float32)
            qt[who, pos] = q_times[mine]
            qr = np.full((len(index), longest), -1, np.int64)
            qr[who, pos] = seg_rows[mine]
            out["query_times"][s] = torch.from_numpy(qt)
            out["query_rows"][s] = torch.from_numpy(qr)
            out["query_index"][s] = torch.from_numpy(_query_slots(count, mix, longest))
            for t_i, task in enumerate(self.queries.tasks):
                if task.stream == s:
                    lab = np.full((len(index), longest), IGNORE_LABEL, np.int64)
                    lab[who, pos] = self.queries.labels[seg_rows[mine], t_i]
                    out["labels"][task.key] = torch.from_numpy(lab)
        return out


def _query_slots(count: np.ndarray, mix: dict | None, longest: int) -> np.ndarray:
    """Flat positions ``b * longest + i`` of the query slots TIM must compute: each window's real queries, and
    under mixup also the slots where its partner has one (the mixed token there carries the partner's query
    and its label enters the mixed loss)."""
    if mix is not None:
        count = np.maximum(count, count[mix["perm"].numpy()])
    starts = np.repeat(np.arange(len(count)) * longest, count)
    return starts + np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)


def finish_batch(batch: dict, store: FeatureStore, device: torch.device) -> dict:
    """Move a collated batch to ``device`` (non-blocking from pinned memory) and gather GPU-stored features,
    all as float32 (the model's input dtype, whatever the store's)."""
    def _move(x: dict | torch.Tensor) -> dict | torch.Tensor:
        if isinstance(x, dict):
            return {k: _move(v) for k, v in x.items()}
        return x.to(device, non_blocking=True)
    rows = batch.pop("feature_rows", {})
    out = _move(batch)
    for s, r in rows.items():
        out["features"][s] = store.gather(s, r.to(device, non_blocking=True))
    out["features"] = {s: x.float() for s, x in out["features"].items()}
    return out


def move_batch(batch: dict, device: torch.device) -> dict:
    """Move every tensor of a collated batch to ``device`` (a no-op for batches the loader already placed)."""
    def _move(x: dict | torch.Tensor) -> dict | torch.Tensor:
        if isinstance(x, dict):
            return {k: _move(v) for k, v in x.items()}
        return x.to(device, non_blocking=True)
    return _move(batch)
