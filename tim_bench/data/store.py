"""A split's features read once into one contiguous array per stream, on the GPU when they fit.

Row ``r`` (with augmentation copy ``a``) of video ``v`` lives at ``offset[v] + r * copies[v] + a`` of its
stream's array, so a batch of windows is gathered with one vectorised index per stream. The GPU store
gathers on the device (no host-to-device copy of features per batch); the host store is a memory-mapped
scratch file read by the loader's workers, its pages released as it goes (resident memory stays flat in the data
size).
"""
from __future__ import annotations

import logging
import mmap
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from tqdm import tqdm

from tim_bench_registry import DataError, FeatureSource

from .checked import open_features

log = logging.getLogger("tim_bench")

PLACEMENTS = ("auto", "gpu", "host")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
GPU_SHARE = 0.5  # "auto" keeps the store on the GPU when it takes at most this share of free GPU memory


@dataclass
class StreamStore:
    """One stream's features: ``values`` [N, *inner], per-video ``offset``/``copies``, times [sum T, 2]."""

    values: torch.Tensor | HostValues
    offset: np.ndarray       # [V] int64 first value row of each video
    copies: np.ndarray       # [V] int64 stored augmentation copies of each video
    time_offset: np.ndarray  # [V] int64 first times row of each video
    times: np.ndarray        # [sum T, 2] float64


def _numpy_storage(dtype: torch.dtype) -> np.dtype:
    """numpy has no bf16: its bits travel as uint16 and are viewed as bf16 by torch."""
    return {torch.float32: np.dtype(np.float32), torch.float16: np.dtype(np.float16),
            torch.bfloat16: np.dtype(np.uint16)}[dtype]


def _as_storage(values: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    if dtype == torch.bfloat16:
        return torch.from_numpy(np.array(values, dtype=np.float32)).to(torch.bfloat16).view(
            torch.uint16).numpy()
    return np.asarray(values, dtype=_numpy_storage(dtype))


class FeatureStore:
    """Every stream's features of ``videos`` in ``split``, placed on ``device`` (GPU) or in a host memmap."""

    def __init__(self, sources: Mapping[str, FeatureSource], split: str, videos: Sequence[str],
                 device: torch.device, placement: str = "auto", dtype: str = "float32",
                 scratch_dir: str | Path | None = None, progress: bool = False) -> None:
        if placement not in PLACEMENTS:
            raise DataError(f"train_cfg.feature_store is '{placement}'; use one of {PLACEMENTS}.")
        if dtype not in DTYPES:
            raise DataError(f"train_cfg.feature_dtype is '{dtype}'; use one of {tuple(DTYPES)}.")
        if placement == "gpu" and device.type != "cuda":
            raise DataError("train_cfg.feature_store='gpu' needs a CUDA device; this process runs on "
                            f"{device}. Use 'auto' or 'host'.")
        self.dtype, self.device = DTYPES[dtype], device
        self.videos = list(videos)
        shapes = self._shapes(sources, split)
        nbytes = sum(int(np.prod(shape)) for shape, _ in shapes.values()) * torch.tensor([], dtype=self.dtype).element_size()
        free = torch.cuda.mem_get_info(device)[0] if device.type == "cuda" else 0
        if placement == "gpu" and nbytes > free:
            raise DataError(f"train_cfg.feature_store='gpu': the {split} features take {nbytes / 1e9:.1f} GB but "
                            f"{device} has {free / 1e9:.1f} GB free; use 'host' or a smaller feature_dtype.")
        self.on_gpu = placement == "gpu" or (placement == "auto" and nbytes <= GPU_SHARE * free)
        log.info("feature store (%s): %.2f GB of %s features %s", split, nbytes / 1e9, dtype,
                 f"on {device}" if self.on_gpu else "in a host memory map")
        self.streams: dict[str, StreamStore] = {}
        for s, (shape, copies) in shapes.items():
            self.streams[s] = self._fill(sources[s], split, s, shape, copies, scratch_dir, progress)

    def _shapes(self, sources: Mapping[str, FeatureSource], split: str) -> dict[str, tuple[tuple[int, ...], np.ndarray]]:
        """[N, *inner] per stream and each video's copies, from the sources' lazy arrays (no values read)."""
        out = {}
        for s, src in sources.items():
            rows, copies, inner = 0, [], None
            for v in self.videos:
                shape = tuple(open_features(src, split, v, s, src.dim).values.shape)
                if inner is not None and shape[2:] != inner:
                    raise DataError(f"Video {v} has {s} features of shape {shape[2:]} per row but earlier videos "
                                    f"of split {split} have {inner}; extract every video with the same extractor.")
                inner = shape[2:]
                rows += shape[0] * shape[1]
                copies.append(shape[1])
            out[s] = ((rows, *(inner or ())), np.asarray(copies, dtype=np.int64))
        return out

    def _fill(self, source: FeatureSource, split: str, stream: str, shape: tuple[int, ...], copies: np.ndarray,
              scratch_dir: str | Path | None, progress: bool) -> StreamStore:
        if self.on_gpu:
            values: torch.Tensor | HostValues = torch.empty(shape, dtype=self.dtype, device=self.device)
        else:  # written through the file, not a mapping: no page of it counts towards this process's memory
            if scratch_dir is not None:  # another DDP rank may not have made the shared folder yet
                Path(scratch_dir).mkdir(parents=True, exist_ok=True)
            scratch = tempfile.TemporaryFile(dir=scratch_dir, prefix=f"tim-bench-{stream}-")
        offset = np.zeros(len(self.videos), np.int64)
        time_offset = np.zeros(len(self.videos), np.int64)
        times, row, trow = [], 0, 0
        for i, v in enumerate(tqdm(self.videos, desc=f"read {stream} features", disable=not progress, leave=False)):
            vf = open_features(source, split, v, stream, source.dim)
            x = np.asarray(vf.values)  # a lazy h5py / memmap array is read once, whole
            check_finite(x, v, stream, split, vf.source)
            flat = x.reshape(-1, *x.shape[2:])
            offset[i], time_offset[i] = row, trow
            if self.on_gpu:
                values[row:row + len(flat)] = torch.from_numpy(np.array(flat)).to(self.device, self.dtype)
            else:
                scratch.write(np.ascontiguousarray(_as_storage(flat, self.dtype)).tobytes())
            row += len(flat)
            trow += len(vf.times)
            times.append(np.asarray(vf.times, dtype=np.float64))
        if not self.on_gpu:
            scratch.flush()
            values = HostValues(scratch, _numpy_storage(self.dtype), shape)
        return StreamStore(values, offset, copies, time_offset,
                           np.concatenate(times) if times else np.zeros((0, 2), np.float64))

    def gather(self, stream: str, rows: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Values at global ``rows`` [B, F] -> [B, F, *inner] in the store's dtype, where the store lives."""
        values = self.streams[stream].values
        if isinstance(values, torch.Tensor):
            index = torch.as_tensor(rows).to(values.device, non_blocking=True)
            return values[index]
        got = torch.from_numpy(values.take(np.asarray(rows)))
        return got.view(torch.bfloat16) if self.dtype == torch.bfloat16 else got


def check_finite(values: np.ndarray, video: str, stream: str, split: str, source: str = "") -> None:
    """Refuse one video's feature values ``[T, ...]`` holding NaN or inf, naming the video, the ``source`` the
    feature plugin read them from (when it set one) and the first bad rows."""
    if not np.isfinite(values).all():
        bad = np.flatnonzero(~np.isfinite(values.reshape(len(values), -1)).all(1))
        where = f", read from {source}" if source else ""
        raise DataError(f"Features of video {video} ({stream} stream, split {split}{where}) hold NaN or inf at rows "
                        f"{bad[:10].tolist()}; re-extract them.")


def check_split_finite(sources: Mapping[str, FeatureSource], split: str, videos: Sequence[str]) -> None:
    """Read every stream's features of ``videos`` once and refuse NaN or inf: for a split whose store is only
    filled after training (``run``'s test split), so bad values stop the run before it trains, not after."""
    for stream, source in sources.items():
        for video in dict.fromkeys(videos):
            features = open_features(source, split, video, stream, source.dim)
            check_finite(np.asarray(features.values), video, stream, split, features.source)


class HostValues:
    """A read-only memory map of a store file whose pages are handed back to the page cache after every batch,
    so the process's resident memory stays flat however large the features are."""

    def __init__(self, file: BinaryIO, dtype: np.dtype, shape: tuple[int, ...]) -> None:
        self.file, self.dtype, self.shape = file, dtype, shape
        self._map: mmap.mmap | None = None
        self._array: np.ndarray | None = None

    def __len__(self) -> int:
        return self.shape[0]

    def _view(self) -> np.ndarray:
        if self._array is None:
            if int(np.prod(self.shape)) == 0:
                self._array = np.zeros(self.shape, self.dtype)
            else:
                self._map = mmap.mmap(self.file.fileno(), 0, access=mmap.ACCESS_READ)
                self._array = np.frombuffer(self._map, dtype=self.dtype).reshape(self.shape)
        return self._array

    def take(self, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows`` (any shape) -> a new in-memory array ``[*rows.shape, *inner]``."""
        out = self._view()[rows]
        if self._map is not None:
            self._map.madvise(mmap.MADV_DONTNEED)  # clean file pages: dropped from this process, kept in the cache
        return out
