"""Config -> the pieces of an experiment: dataset plugin, feature sources, tasks, windows, loaders, model."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from mmengine.config import Config
from torch.utils.data import DataLoader

from tim_bench_registry import (DATASETS, FEATURES, METRICS, MODELS, STREAMS, DataError, FeatureSource,
                                SplitAnnotations, Task, build, import_custom, plugin_manager)

from ..data.joint import JointDataset
from ..data.dataset import QueryTable, WindowDataset, collate_windows
from ..data.sampler import BucketBatchSampler
from ..data.windows import WindowSpec, Windows, cached_windows
from ..evaluation.combined import CombinedMetrics
from ..model.tim import TIM
from .distributed import DistInfo

log = logging.getLogger("tim_bench")


@dataclass
class SplitData:
    """One split, ready to iterate."""

    name: str
    annotations: SplitAnnotations
    windows: Windows
    dataset: WindowDataset


class Experiment:
    """Everything a config describes, built once; splits are loaded on demand."""

    def __init__(self, cfg: Config, cache_dir: str | Path | None = None, write_cache: bool = True) -> None:
        plugin_manager()
        custom = cfg.get("custom_imports")
        if custom:
            import_custom(custom.get("imports", []), custom.get("allow_failed_imports", False))
        self.cfg = cfg
        root = cfg.get("data_root")
        if not root or not Path(root).is_dir():
            raise DataError(f"data_root '{root}' is not a folder. Point it at the dataset "
                            f"(--cfg-options data_root=PATH) or make synthetic data there with "
                            f"`tim-bench make-synthetic <ave|epic|perception> {root or 'PATH'}`.")
        self.data_root = str(root)
        datasets = cfg.dataset if isinstance(cfg.dataset, (list, tuple)) else [cfg.dataset]
        plugins = [build(DATASETS, d, data_root=self.data_root) for d in datasets]
        self.dataset_name = "+".join(d["type"] for d in datasets)
        self.plugin = plugins[0] if len(plugins) == 1 else JointDataset(plugins, [d["type"] for d in datasets])
        self.sources: dict[str, FeatureSource] = {
            s: build(FEATURES, cfg.features[s], data_root=self.data_root) for s in STREAMS if s in cfg.features}
        unknown = set(cfg.features) - set(STREAMS)
        if unknown:
            raise DataError(f"features has streams {sorted(unknown)}; use {STREAMS}.")
        self.tasks: tuple[Task, ...] = tuple(self.plugin.tasks())
        self.spec = WindowSpec(**cfg.windows)
        self.cache_dir, self.write_cache = cache_dir, write_cache
        self.seed = int(cfg.get("seed", 0))

    def feature_description(self) -> dict[str, str]:
        """{stream: 'Type(file-or-folder, D-d)'} for records and tables."""
        out = {}
        for s, c in self.cfg.features.items():
            where = c.get("file") or c.get("folder") or ""
            out[s] = f"{c['type']}({where}, {self.sources[s].dim}-d)" if where else f"{c['type']}({self.sources[s].dim}-d)"
        return out

    def build_model(self) -> TIM:
        """The model for this config, its input widths read from the feature sources."""
        return build(MODELS, self.cfg.model, input_dims={s: src.dim for s, src in self.sources.items()},
                     tasks=self.tasks)

    def build_metric(self) -> Any:
        """The evaluator; a list of evaluators reports all their metrics, selecting by the first's main one."""
        ev = self.cfg.evaluator
        if isinstance(ev, (list, tuple)):
            return CombinedMetrics([build(METRICS, e) for e in ev])
        return build(METRICS, ev)

    def split_name(self, role: str) -> str | None:
        """The dataset split playing ``role`` (train / val / test) in this config, or None."""
        return (self.cfg.get("splits") or {}).get(role)

    def load_split(self, split: str, train: bool) -> SplitData:
        """Annotations -> validated table -> windows (cached by content hash) -> dataset."""
        if split not in self.plugin.splits():
            raise DataError(f"{self.dataset_name} under {self.data_root} has splits {self.plugin.splits()}; "
                            f"the config asks for '{split}'.")
        t0 = time.perf_counter()
        ann = self.plugin.load(split)
        ann.validate(f"{self.dataset_name} {split}")
        annotated = set(ann.segments["video_id"])
        feature_times = {v: self._stream_times(split, v) for v in ann.durations if v in annotated}
        windows = cached_windows(ann.segments, ann.durations, feature_times, self.spec, self.cache_dir,
                                 write=self.write_cache)
        data = WindowDataset(windows, QueryTable.from_annotations(ann), self.sources, split, train, self.seed)
        counts = windows.queries_per_window()
        log.info("%s %s: %d segments, %d windows (queries per window max %d, mean %.1f) in %.2f s",
                 self.dataset_name, split, len(ann.segments), len(windows), counts.max(), counts.mean(),
                 time.perf_counter() - t0)
        return SplitData(split, ann, windows, data)

    def _stream_times(self, split: str, video: str) -> np.ndarray:
        """The video's feature times; every stream is read at the same rows, so their grids must agree."""
        grids = {s: np.asarray(src.open(split, video).times, dtype=np.float64) for s, src in self.sources.items()}
        first, *others = grids.items()
        for stream, times in others:
            if len(times) != len(first[1]):
                raise DataError(f"Video {video} has {len(first[1])} {first[0]} features but {len(times)} {stream} "
                                f"features; both streams are read at the same rows, so extract them on one time grid.")
        return first[1]

    def loader(self, data: SplitData, batch_size: int, shuffle: bool, dist: DistInfo, num_workers: int = 0,
               pin_memory: bool = False) -> DataLoader:
        """Batches of windows with similar query counts, shuffled for training, sharded across DDP ranks."""
        sampler = BucketBatchSampler(data.windows.queries_per_window(), batch_size, shuffle, self.seed,
                                     rank=dist.rank, world_size=dist.world_size)
        return DataLoader(data.dataset, batch_sampler=sampler, collate_fn=collate_windows, num_workers=num_workers,
                          pin_memory=pin_memory, persistent_workers=False)
