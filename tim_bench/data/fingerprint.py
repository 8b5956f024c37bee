"""What a config's data is, independent of where it lives: the fingerprint that enters a run's recipe hash.

Two parts, each a sha256:

- annotations: every split the dataset plugin offers, as the plugin reads it (segments with their labels,
  video durations, the task list and class counts). That covers each annotation file the plugin reads,
  whatever its format, without the engine knowing the file names.
- features: for each stream, every file under the config's ``features.<stream>.file`` / ``.folder`` by
  its path relative to that file or folder: arrays (``.npy``, ``.npz``, HDF5) by shape, dtype and their
  first and last feature vector (so re-extracted features of the same shape differ), any other file
  (interval tables, extraction records) by its content; a non-array file above ``HASH_LIMIT`` bytes by
  its size. Summaries are cached per file (path, size, mtime, inode) in the per-user cache folder, so
  a second fingerprint of the same files only stats them.

A copy of the data under another path (a node's local disk) has the same fingerprint; changed
annotations or features have another.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from mmengine.config import Config

from tim_bench_registry import DATASETS, DataError, TimBenchError, build, import_custom, plugin_manager
from tim_bench_registry.files import write_json

from ..user_dirs import user_cache_dir
from .checked import load_annotations

log = logging.getLogger("tim_bench")
#: Bump when the summary of a file changes meaning (old cache entries and fingerprints are then not reused).
VERSION = 1
#: Non-array files up to this size are hashed whole; larger ones (a video beside its features) by their size.
HASH_LIMIT = 64 << 20
ARRAY_SUFFIXES = (".npy", ".npz", ".h5", ".hdf5", ".hdf")


def data_fingerprint(cfg: Config, dataset_plugin: Any = None) -> dict[str, Any]:
    """``{"sha256": ..., "annotations": {"sha256", "splits": {split: segments}}, "features": {stream:
    {"sha256", "files"}}}`` of ``cfg``'s data; ``dataset_plugin`` (already built) saves building it again."""
    root = cfg.get("data_root")
    if not root or not Path(root).is_dir():
        raise DataError(f"data_root '{root}' is not a folder, so its data cannot be fingerprinted; point it at the "
                        f"dataset (--cfg-options data_root=PATH).")
    annotations = _annotations(cfg, dataset_plugin)
    features = {stream: _feature_files(Path(root), dict(entry)) for stream, entry in sorted(cfg.features.items())}
    digest = hashlib.sha256(json.dumps({"v": VERSION, "annotations": annotations["sha256"],
                                        "features": {s: f["sha256"] for s, f in features.items()}},
                                       sort_keys=True).encode()).hexdigest()
    return {"sha256": digest, "annotations": annotations, "features": features}


def _annotations(cfg: Config, plugin: Any) -> dict[str, Any]:
    """The sha256 of every split's annotations as the dataset plugin reads them, and its segment counts."""
    if plugin is None:
        plugin_manager()
        custom = cfg.get("custom_imports")
        if custom:
            import_custom(custom.get("imports", []), custom.get("allow_failed_imports", False))
        datasets = cfg.dataset if isinstance(cfg.dataset, (list, tuple)) else [cfg.dataset]
        plugins = [build(DATASETS, d, data_root=str(cfg.data_root)) for d in datasets]
    else:
        plugins = getattr(plugin, "plugins", None) or [plugin]
    h = hashlib.sha256()
    counts: dict[str, int] = {}
    for index, dataset in enumerate(plugins):
        h.update(f"dataset {index}; tasks {[(t.key, t.num_classes) for t in dataset.tasks()]};".encode())
        for split in sorted(dataset.splits()):
            ann = load_annotations(dataset, split, type(dataset).__name__)
            seg = ann.segments.reindex(columns=sorted(ann.segments.columns))
            h.update(f"split {split} {ann.labelled} {list(seg.columns)} {list(map(str, seg.dtypes))};".encode())
            h.update(seg.to_csv(index=False, float_format="%.9g").encode())
            h.update(json.dumps({str(k): float(v) for k, v in sorted(ann.durations.items())}).encode())
            h.update(_canonical(ann.extra).encode())
            counts[split if len(plugins) == 1 else f"{index}:{split}"] = len(seg)
    return {"sha256": h.hexdigest(), "splits": counts}


def _canonical(value: Any) -> str:
    """A stable text of a plugin's ``extra`` metadata (tables, arrays, plain values); other objects by type name,
    never by ``repr`` (which may hold a memory address and would make every fingerprint new)."""
    import pandas as pd

    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k!s}:{_canonical(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0])))\
            + "}"
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return "[" + ",".join(_canonical(v) for v in items) + "]"
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return value.to_csv(float_format="%.9g")
    if isinstance(value, np.ndarray):
        return f"array{value.shape}{value.dtype}:" + hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
    if value is None or isinstance(value, (str, int, float, bool, np.generic)):
        return repr(value.item() if isinstance(value, np.generic) else value)
    return f"<{type(value).__module__}.{type(value).__qualname__}>"


def _feature_files(root: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """One stream's files (its ``file`` or every file under its ``folder``) summarised and hashed together."""
    where = entry.get("file") or entry.get("folder")
    if not where:  # computed on the fly (an extractor): the config alone says what it is
        return {"sha256": hashlib.sha256(b"no files").hexdigest(), "files": 0}
    base = root / str(where)
    if not base.exists():
        raise DataError(f"Feature {'file' if entry.get('file') else 'folder'} {base} does not exist; point "
                        f"data_root or the config's features at it.")
    cache = _Cache(base)
    h = hashlib.sha256()
    count = 0
    for path, name in _files(base):
        h.update(f"{name}\t{cache.summary(path, name)}\n".encode())
        count += 1
    cache.save()
    return {"sha256": h.hexdigest(), "files": count}


def _files(base: Path) -> Iterator[tuple[Path, str]]:
    """``(path, name relative to base)`` of the file ``base`` or of every file under the folder ``base``, in a
    fixed order; hidden files and folders (caches, editors' files) are left out."""
    if base.is_file():
        yield base, base.name
        return
    for folder, dirs, files in os.walk(base, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(f for f in files if not f.startswith(".")):
            path = Path(folder) / name
            yield path, path.relative_to(base).as_posix()


def file_summary(path: Path) -> str:
    """What one file is: an array's shape, dtype and first and last feature vector, else its content hash."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return _array_summary(np.load(path, mmap_mode="r", allow_pickle=False))
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                return ";".join(f"{k}={_array_summary(npz[k])}" for k in sorted(npz.files))
        if suffix in (".h5", ".hdf5", ".hdf"):
            return _hdf5_summary(path)
    except (OSError, ValueError, zipfile.BadZipFile):
        pass  # not readable as plain arrays (pickled objects, a truncated copy): summarised by its bytes below,
        # and the feature plugin names the problem when the run reads it
    size = path.stat().st_size
    if size > HASH_LIMIT:
        return f"size {size}"
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return f"sha256 {digest.hexdigest()}"


def _array_summary(values: Any) -> str:
    """Shape, dtype and a hash of the first and last vector along the last axis (a few KB read at most)."""
    shape, dtype = tuple(values.shape), np.dtype(values.dtype)
    if 0 in shape or not shape:
        parts = [np.asarray(values[()])]
    else:
        parts = [np.asarray(values[(0,) * (len(shape) - 1)]), np.asarray(values[tuple(n - 1 for n in shape[:-1])])]
    # objects (e.g. HDF5 strings) by their text: their bytes would be memory addresses
    sample = b"".join(repr(p.tolist()).encode() if p.dtype.kind == "O" else p.tobytes() for p in parts)
    return f"{shape} {dtype.str} {hashlib.sha256(sample).hexdigest()[:16]}"


def _hdf5_summary(path: Path) -> str:
    import h5py

    parts: list[str] = []
    with h5py.File(path, "r") as f:
        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                parts.append(f"{name}={_array_summary(obj)}")
        f.visititems(visit)
    return ";".join(sorted(parts))


class _Cache:
    """File summaries of one feature file or folder, reused while a file's size, mtime and inode are unchanged."""

    def __init__(self, base: Path) -> None:
        key = hashlib.sha256(str(base.resolve()).encode()).hexdigest()[:24]
        self.path = user_cache_dir() / "fingerprints" / f"{key}.json"
        self.old: dict[str, Any] = {}
        try:
            data = json.loads(self.path.read_text())
            if isinstance(data, dict) and data.get("version") == VERSION and isinstance(data.get("files"), dict):
                self.old = data["files"]
        except (OSError, ValueError):
            pass
        self.new: dict[str, Any] = {}

    def summary(self, path: Path, name: str) -> str:
        st = path.stat()
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
        entry = self.old.get(name)
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == stamp:
            self.new[name] = entry
            return str(entry[1])
        summary = file_summary(path)
        self.new[name] = [stamp, summary]
        return summary

    def save(self) -> None:
        """Write the cache when it changed; a cache that cannot be written only costs the next fingerprint time."""
        if self.new == self.old:
            return
        try:
            write_json(self.path, {"version": VERSION, "files": self.new})
        except (OSError, TimBenchError) as exc:
            log.debug("fingerprint cache %s not written: %s", self.path, exc)
