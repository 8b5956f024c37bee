"""``Experiment``: a config assembled into its pieces (dataset plugin, feature sources, tasks, windows, loaders,
model)."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from mmengine.config import Config
from torch.utils.data import DataLoader

from tim_bench_registry import (DATASETS, FEATURES, METRICS, MODELS, STREAMS, DataError, FeatureSource,
                                SplitAnnotations, Task, TimBenchError, build, import_custom, plugin_manager)

from ..data.checked import load_annotations, open_features
from ..data.joint import JointDataset, parts_of
from ..data.dataset import QueryTable, WindowBatches, finish_batch
from ..data.grid import common_grid
from ..data.rules import check_disjoint, is_training_data, layout_problem, pooling_of
from ..data.store import FeatureStore
from ..data.suspicious import split_warnings
from ..data.sampler import WindowBatchSampler, make_batch_sampler
from ..data.split import SplitData
from ..data.windows import WindowSpec, cached_windows
from ..evaluation.combined import CombinedMetrics
from ..model.tim import TIM
from ..distributed import DistInfo
from .memory import available_host_memory, check_fits, estimate, model_size, row_size, window_bound
from .precision import store_dtype

log = logging.getLogger("tim_bench")
#: the roles whose splits are scored (val selects checkpoints, test gives the reported metrics)
EVAL_ROLES = ("val", "test")


class BatchLoader:
    """Iterates a DataLoader of collated batches and hands them over on ``device``, features gathered."""

    def __init__(self, loader: DataLoader, store: FeatureStore, device: torch.device) -> None:
        self.loader, self.store, self.device = loader, store, device
        self.batch_sampler = loader.batch_sampler if loader.batch_sampler is not None else loader.sampler

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[dict]:
        batches = iter(self.loader)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except Exception as exc:
                raise _worker_error(exc) from None
            yield finish_batch(batch, self.store, self.device)


def _worker_error(exc: Exception) -> Exception:
    """A DataLoader worker's exception as the worker's own one-line message (no worker traceback text)."""
    text = str(exc)
    if "Original Traceback" not in text:
        return exc
    last = next(line for line in reversed(text.splitlines()) if line.strip()).strip()
    name, sep, message = last.partition(": ")
    message = message if sep and " " not in name else last
    return type(exc)(message) if isinstance(exc, TimBenchError) else \
        TimBenchError(f"A data loader worker failed: {message}")


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
        self.tasks: tuple[Task, ...] = tuple(self.plugin.tasks())
        self.spec = WindowSpec(**cfg.windows)
        self.cache_dir, self.write_cache = cache_dir, write_cache
        self.seed = int(cfg.get("seed", 0))
        #: the parts (one per dataset) of every split loaded so far: the training split is checked against the others
        self._loaded: dict[str, tuple[SplitAnnotations, ...]] = {}
        #: evaluation splits that are the training data (the same split, or the same segments): warned and recorded
        self.training_data_splits: set[str] = set()
        for role in EVAL_ROLES:
            split = self.split_name(role)
            if split and split == self.split_name("train"):
                self._warn_training_data(role, split, "is the training split")

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

    def _warn_training_data(self, role: str, split: str, why: str) -> None:
        if split in self.training_data_splits:
            return
        self.training_data_splits.add(split)
        log.warning("warning: splits.%s='%s' %s: the model is scored on data it trained on, so these metrics "
                    "measure fit, not generalisation; the run record (scored_on_training_data) and its leaderboard "
                    "row say so.", role, split, why)

    def scored_on_training_data(self) -> list[str]:
        """The evaluation roles ("val", "test") whose split is the training data, for the run record."""
        return [r for r in EVAL_ROLES if self.split_name(r) in self.training_data_splits]

    def split_name(self, role: str) -> str | None:
        """The dataset split playing ``role`` (train / val / test) in this config, or None."""
        return (self.cfg.get("splits") or {}).get(role)

    def require_split(self, role: str) -> str:
        """The dataset split playing ``role``; an error naming the config key when the config gives none."""
        split = self.split_name(role)
        if split is None:
            raise TimBenchError(f"The config gives no splits.{role}, which this command needs: set it (e.g. "
                                f"--cfg-options splits.{role}=...) to one of {self.plugin.splits()}.")
        return split

    def load_split(self, split: str, train: bool) -> SplitData:
        """Annotations -> validated table -> windows (cached by content hash) -> dataset."""
        if split not in self.plugin.splits():
            raise DataError(f"{self.dataset_name} under {self.data_root} has splits {self.plugin.splits()}; "
                            f"the config asks for '{split}'.")
        t0 = time.perf_counter()
        ann = load_annotations(self.plugin, split, self.dataset_name, training=train)
        self._check_disjoint(split, ann)
        annotated = set(ann.segments["video_id"])
        feature_times = {v: self._stream_times(split, v) for v in ann.durations if v in annotated}
        for warning in split_warnings(f"{self.dataset_name} {split}", ann, feature_times):
            log.warning(warning)
        self._check_memory(split, {v: ann.durations[v] for v in feature_times}, train)
        windows = cached_windows(ann.segments, ann.durations, feature_times, self.spec, self.cache_dir,
                                 write=self.write_cache)
        data = SplitData(split, ann, windows, QueryTable.from_annotations(ann), train)
        counts = windows.queries_per_window()
        log.info("%s %s: %d segments, %d windows (queries per window max %d, mean %.1f) in %.2f s",
                 self.dataset_name, split, len(ann.segments), len(windows), counts.max(), counts.mean(),
                 time.perf_counter() - t0)
        return data

    def _check_disjoint(self, split: str, ann: SplitAnnotations) -> None:
        """The config's training split shares nothing with an evaluation split, whichever is loaded first; an
        evaluation split loaded alone (test, predict) is checked against the training split's annotations."""
        self._loaded[split] = parts_of(self.plugin, split, ann)
        train = self.split_name("train")
        if not train or train not in self.plugin.splits():
            return
        if train not in self._loaded:
            self._loaded[train] = parts_of(self.plugin, train, load_annotations(self.plugin, train, self.dataset_name))
        for other in [s for s in self._loaded if s != train] if split == train else [split]:
            if is_training_data(self._loaded[train], self._loaded[other]):  # scored again: allowed, warned, recorded
                for role in [r for r in EVAL_ROLES if self.split_name(r) == other] or [other]:
                    self._warn_training_data(role, other, f"holds the same segments as the training split "
                                                          f"'{train}' (the same annotation file)")
            else:
                check_disjoint(self._loaded[train], self._loaded[other], f"{self.dataset_name} {train}",
                               f"{self.dataset_name} {other}")

    def _check_memory(self, split: str, durations: dict[str, float], train: bool) -> None:
        """Refuse the split before its windows are built when they, a batch and the model's activations cannot fit
        in the memory available (host, and the GPU's when training runs there)."""
        if not durations:
            return
        first = next(iter(durations))
        rows = {s: row_size(tuple(open_features(src, split, first, s, src.dim).values.shape))
                for s, src in self.sources.items()}
        batch = self.cfg.train_cfg.batch_size if train else self.cfg.test_cfg.batch_size
        parts = estimate(window_bound(durations.values(), self.spec), self.spec, batch, rows,
                         model_size(self.cfg.model), train)
        budgets = {"host": available_host_memory()}
        if torch.cuda.is_available():
            budgets["device"] = torch.cuda.mem_get_info()[0]
        else:  # the model runs on the host too
            parts = {"host": {**parts["host"], **parts["device"]}}
        check_fits(parts, budgets, f"Split '{split}' with windows.num_feats={self.spec.num_feats}")

    def _stream_times(self, split: str, video: str) -> np.ndarray:
        """The video's feature times; every stream is read at the same rows, so their grids must agree."""
        grids, pool = {}, pooling_of(self.cfg.model)
        for stream, src in self.sources.items():
            feats = open_features(src, split, video, stream, src.dim)
            problem = None if pool is None else layout_problem(tuple(feats.values.shape), stream, pool)
            if problem:
                where = feats.source or f"{stream} features of video {video} ({split})"
                raise DataError(f"{where}: {problem}.")
            grids[stream] = np.asarray(feats.times, dtype=np.float64)
        return common_grid(grids, video)

    def batch_sampler(self, data: SplitData, batch_size: int, shuffle: bool, dist: DistInfo) -> WindowBatchSampler:
        """Lists of window indices per batch, with ``set_epoch``, sharded across DDP ranks: for training
        (``shuffle``) the ``train_cfg.sampler`` (default "uniform", the original's objective; "bucketed" groups
        similar query counts, which reweights the loss), for evaluation the windows in order."""
        kind = str((self.cfg.get("train_cfg") or {}).get("sampler", "uniform")) if shuffle else "uniform"
        return make_batch_sampler(kind, data.windows.queries_per_window(), batch_size, shuffle, self.seed,
                                  rank=dist.rank, world_size=dist.world_size)

    def feature_store(self, data: SplitData, device: torch.device) -> FeatureStore:
        """The split's features read once into a store: on the GPU when they fit (``train_cfg.feature_store``:
        auto / gpu / host), in ``train_cfg.feature_dtype`` (auto: float32, what the original reads)."""
        tc = self.cfg.get("train_cfg") or {}
        videos = list(dict.fromkeys(data.windows.video_ids.tolist()))
        return FeatureStore(self.sources, data.name, videos, device, tc.get("feature_store", "auto"),
                            self.feature_dtype(), self.cache_dir, progress=False)

    def feature_dtype(self) -> str:
        """The dtype features are stored in (``train_cfg.feature_dtype``; auto: float32 on every device, as the
        original reads them): a lower one rounds the inputs, so the run record carries it."""
        return store_dtype((self.cfg.get("train_cfg") or {}).get("feature_dtype", "auto"))

    def loader(self, data: SplitData, batch_size: int, shuffle: bool, dist: DistInfo, num_workers: int = 0,
               pin_memory: bool = False) -> BatchLoader:
        """Batches from ``batch_sampler`` (shuffled for training, sharded across DDP ranks), gathered from the
        split's feature store and handed over on this rank's device."""
        device = torch.device(f"cuda:{dist.local_rank}" if torch.cuda.is_available() else "cpu")
        if data.dataset is None or data.dataset.store.device != device:
            mixup = float((self.cfg.get("loss") or {}).get("mixup_alpha", 0.0)) if data.train else 0.0
            data.dataset = WindowBatches(data.windows, data.queries, self.feature_store(data, device), data.train,
                                         self.seed, mixup)
        loader = DataLoader(data.dataset, sampler=self.batch_sampler(data, batch_size, shuffle, dist), batch_size=None,
                            num_workers=num_workers, pin_memory=pin_memory or device.type == "cuda",
                            persistent_workers=num_workers > 0)  # each batch carries its epoch (EpochBatch)
        return BatchLoader(loader, data.dataset.store, device)
