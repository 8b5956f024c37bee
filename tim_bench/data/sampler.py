"""Batch samplers over windows: uniform shuffling (the original's loader) or bucketing by query count.

Both pad nothing themselves (collate pads each batch to its own maximum) and shard across DDP ranks
so that every rank gets the same number of training batches (its steps stay in lock-step).
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler

from tim_bench_registry import TimBenchError

#: train_cfg.sampler values: "uniform" is the original's objective, "bucketed" reweights it (see README).
SAMPLERS = ("uniform", "bucketed")


class WindowBatchSampler(Sampler[list[int]]):
    """Lists of window indices, reshuffled by ``set_epoch``; subclasses decide how a shuffled epoch is cut.

    With ``shuffle=False`` windows keep their order (evaluation). With ``world_size > 1`` rank r takes
    batches r, r + world_size, ...; when shuffling, the last ``len % world_size`` batches of the epoch
    are dropped so every rank steps the same number of times.
    """

    def __init__(self, num_windows: int, batch_size: int, shuffle: bool, seed: int = 0, rank: int = 0,
                 world_size: int = 1) -> None:
        if batch_size < 1:
            raise TimBenchError(f"batch_size is {batch_size}; set train_cfg.batch_size / test_cfg.batch_size to 1 "
                                f"or more.")
        self.num_windows, self.batch_size, self.shuffle, self.seed = num_windows, batch_size, shuffle, seed
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw a new order for ``epoch`` (the same seed and epoch give the same batches)."""
        self.epoch = epoch

    def _shuffled(self, rng: np.random.Generator) -> list[np.ndarray]:
        raise NotImplementedError

    def _batches(self) -> list[np.ndarray]:
        n = self.num_windows
        if not self.shuffle:
            return [np.arange(i, min(i + self.batch_size, n)) for i in range(0, n, self.batch_size)]
        return self._shuffled(np.random.default_rng([self.seed, self.epoch]))

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._batches()
        if self.world_size > 1:
            usable = len(batches) - len(batches) % self.world_size if self.shuffle else len(batches)
            batches = batches[self.rank:usable:self.world_size]
        return iter([b.tolist() for b in batches])

    def __len__(self) -> int:
        n = -(-self.num_windows // self.batch_size)
        if self.world_size > 1:
            return (n // self.world_size) if self.shuffle else len(range(self.rank, n, self.world_size))
        return n


class UniformBatchSampler(WindowBatchSampler):
    """A uniform random permutation of the windows cut into consecutive batches, the last one short
    (``DataLoader(shuffle=True, drop_last=False)`` as the original TIM loads its windows)."""

    def _shuffled(self, rng: np.random.Generator) -> list[np.ndarray]:
        order = rng.permutation(self.num_windows)
        return [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]


class BucketBatchSampler(WindowBatchSampler):
    """Shuffle, sort each chunk of ``bucket_batches`` batches by query count, cut into batches, shuffle those.

    Less padding, but not the original's objective: windows with few queries are batched together, so
    each of their queries weighs more in the per-batch mean loss, and mixup pairs similar windows.
    """

    def __init__(self, query_counts: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0,
                 bucket_batches: int = 50, rank: int = 0, world_size: int = 1) -> None:
        self.counts = np.asarray(query_counts)
        super().__init__(len(self.counts), batch_size, shuffle, seed, rank, world_size)
        self.bucket_batches = bucket_batches

    def _shuffled(self, rng: np.random.Generator) -> list[np.ndarray]:
        order = rng.permutation(self.num_windows)
        chunk = self.batch_size * self.bucket_batches
        batches = []
        for c in range(0, len(order), chunk):
            part = order[c:c + chunk]
            part = part[np.argsort(self.counts[part], kind="stable")]
            batches += [part[i:i + self.batch_size] for i in range(0, len(part), self.batch_size)]
        return [batches[i] for i in rng.permutation(len(batches))]


def make_batch_sampler(kind: str, query_counts: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0,
                       rank: int = 0, world_size: int = 1) -> WindowBatchSampler:
    """The ``train_cfg.sampler`` named ``kind`` over windows with ``query_counts`` queries each."""
    if kind == "uniform":
        return UniformBatchSampler(len(query_counts), batch_size, shuffle, seed, rank, world_size)
    if kind == "bucketed":
        return BucketBatchSampler(query_counts, batch_size, shuffle, seed, rank=rank, world_size=world_size)
    raise TimBenchError(f"train_cfg.sampler is {kind!r}; use one of {', '.join(map(repr, SAMPLERS))} "
                        f"('uniform' trains the original TIM objective).")
