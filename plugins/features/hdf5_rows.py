"""Row-indexed HDF5 features (AVE's official ``visual_feature.h5`` / ``audio_feature.h5``).

Such a file stores one array ``[N, T, ...]`` with one row per video and no ids. A video is
addressed as ``NAME#ROW``: the integer after the last ``#`` is its row (AVE ids look like
``RUhOCu3LNXM#0``). Contiguous datasets are memory-mapped; chunked ones are read one row at a time.
A file that is not HDF5, or is shorter than its dataset, is a DataError naming it.
"""
from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

from tim_bench_registry import FEATURES, DataError, VideoFeatures


def row_of(video_id: str) -> int:
    """The HDF5 row addressed by ``NAME#ROW`` (or a bare ``ROW``): decimal digits only."""
    tail = str(video_id).rsplit("#", 1)[-1]
    if not (tail.isascii() and tail.isdigit()):
        raise DataError(f"Video id '{video_id}' does not name an HDF5 row; row-indexed features need ids "
                        f"of the form NAME#ROW with ROW a whole number >= 0.")
    return int(tail)


@FEATURES.register_module()
class HDF5RowFeatures:
    """One stream's features from an ``[N, T, D]`` or ``[N, T, H, W, D]`` HDF5 dataset.

    Feature t of every video covers [t * feat_gap, t * feat_gap + feat_span] seconds.
    """

    def __init__(self, data_root: str, file: str, dataset: str = "avadataset", feat_gap: float = 1.0,
                 feat_span: float | None = None, dim: int | None = None) -> None:
        self.path = Path(data_root) / file
        self.dataset = dataset
        self.feat_gap = feat_gap
        self.feat_span = feat_gap if feat_span is None else feat_span
        if not self.path.is_file():
            raise DataError(f"Feature file {self.path} does not exist; point data_root at the folder holding it "
                            f"or run `tim-bench make-synthetic ave {self.path.parent}`.")
        try:
            with h5py.File(self.path, "r") as f:
                if dataset not in f or not isinstance(f[dataset], h5py.Dataset):
                    raise DataError(f"{self.path} has no dataset '{dataset}'; it holds {sorted(f)}.")
                ds = f[dataset]
                self.shape, self.dtype = ds.shape, ds.dtype
                self._offset = ds.id.get_offset() if ds.chunks is None and ds.compression is None else None
        except OSError as exc:
            raise DataError(f"Feature file {self.path} is not a readable HDF5 file ({exc}); it is truncated or "
                            f"garbage: copy or extract it again.") from None
        if not np.issubdtype(self.dtype, np.number) or np.issubdtype(self.dtype, np.complexfloating):
            raise DataError(f"{self.path}:{dataset} holds {self.dtype} values, not real numbers.")
        if self._offset is not None and self._offset + int(np.prod(self.shape)) * self.dtype.itemsize > \
                self.path.stat().st_size:
            raise DataError(f"Feature file {self.path} is truncated: {dataset} {self.shape} needs more bytes than "
                            f"the file holds; copy or extract it again.")
        if len(self.shape) not in (3, 5):
            raise DataError(f"{self.path}:{dataset} has shape {self.shape}; expected [N, T, D] or [N, T, H, W, D].")
        self.dim = int(self.shape[-1])
        if dim is not None and dim != self.dim:
            raise DataError(f"{self.path}:{dataset} holds {self.dim}-d features but the config says dim={dim}; "
                            f"fix the config's feature dim or point it at the right file.")
        self._memmap: np.memmap | None = None
        self._h5: tuple[int, h5py.File] | None = None

    def _rows(self) -> np.ndarray | h5py.Dataset:
        if self._offset is not None:
            if self._memmap is None:
                self._memmap = np.memmap(self.path, dtype=self.dtype, mode="r", offset=self._offset, shape=self.shape)
            return self._memmap
        # h5py handles must not cross fork(): reopen in each DataLoader worker.
        if self._h5 is None or self._h5[0] != os.getpid():
            self._h5 = (os.getpid(), h5py.File(self.path, "r"))
        return self._h5[1][self.dataset]

    def open(self, split: str, video_id: str) -> VideoFeatures:
        row = row_of(video_id)
        if not 0 <= row < self.shape[0]:
            raise DataError(f"Video {video_id} asks for row {row} of {self.path}, which has {self.shape[0]} rows.")
        try:
            values = self._rows()[row]  # memmap view, or one row read from HDF5
        except (OSError, ValueError) as exc:
            raise DataError(f"Row {row} (video {video_id}) of feature file {self.path} cannot be read ({exc}); the "
                            f"file is damaged: copy or extract it again.") from None
        steps = values.shape[0]
        start = np.arange(steps, dtype=np.float64) * self.feat_gap
        times = np.stack([start, start + self.feat_span], axis=1)
        return VideoFeatures(times=times, values=np.expand_dims(values, 1),  # [T, A=1, ...]
                             source=f"{self.path} row {row} (video {video_id})")

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_memmap"] = None
        state["_h5"] = None
        return state
