"""Batches of windows with similar query counts (less padding), shardable across DDP ranks."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler


class BucketBatchSampler(Sampler[list[int]]):
    """Shuffle, sort each chunk of ``bucket_batches`` batches by query count, cut into batches, shuffle those.

    With ``shuffle=False`` windows keep their order. Every rank of ``world_size`` gets the same number
    of batches (the last few are dropped from the shuffled list to even out), so DDP steps stay in lock-step.
    """

    def __init__(self, query_counts: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0,
                 bucket_batches: int = 50, rank: int = 0, world_size: int = 1) -> None:
        self.counts = np.asarray(query_counts)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.bucket_batches, self.rank, self.world_size = bucket_batches, rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[np.ndarray]:
        n = len(self.counts)
        if not self.shuffle:
            return [np.arange(i, min(i + self.batch_size, n)) for i in range(0, n, self.batch_size)]
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(n)
        chunk = self.batch_size * self.bucket_batches
        batches = []
        for c in range(0, n, chunk):
            part = order[c:c + chunk]
            part = part[np.argsort(self.counts[part], kind="stable")]
            batches += [part[i:i + self.batch_size] for i in range(0, len(part), self.batch_size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._batches()
        if self.world_size > 1:
            usable = len(batches) - len(batches) % self.world_size if self.shuffle else len(batches)
            batches = batches[self.rank:usable:self.world_size]
        return iter([b.tolist() for b in batches])

    def __len__(self) -> int:
        n = -(-len(self.counts) // self.batch_size)
        if self.world_size > 1:
            return (n // self.world_size) if self.shuffle else len(range(self.rank, n, self.world_size))
        return n
