"""Batch samplers over windows: uniform shuffling (the original's loader) or bucketing by query count.

Both pad nothing themselves (collate pads each batch to its own maximum). Under several processes the
batch size is the global batch, as the original divides ``--batch_size`` by the number of GPUs: every
optimiser step draws one batch of the shuffled windows and each rank takes every ``world_size``-th of its
windows (what the original's ``DistributedSampler`` gives), so all ranks step in lock-step.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler

from tim_bench_registry import TimBenchError

#: train_cfg.sampler values: "uniform" is the original's objective, "bucketed" reweights it (see README).
SAMPLERS = ("uniform", "bucketed")


class EpochBatch(list):
    """A batch's window indices with the epoch they were drawn for: a loader worker that lives across epochs
    (``persistent_workers``) draws the batch's augmentation copies and mixup for this epoch, not its first."""

    def __init__(self, indices: list[int], epoch: int) -> None:
        super().__init__(indices)
        self.epoch = epoch


class WindowBatchSampler(Sampler[list[int]]):
    """Lists of window indices, reshuffled by ``set_epoch``; subclasses decide how a shuffled epoch is cut.

    ``batch_size`` is the global batch. With ``shuffle=False`` windows keep their order (evaluation; with
    ``world_size > 1`` rank r takes batches r, r + world_size, ... of ``batch_size // world_size`` windows).
    When shuffling under ``world_size > 1``, each global batch of ``world_size * (batch_size // world_size)``
    windows is padded to a multiple of ``world_size`` by repeating windows (the original's DistributedSampler
    pads its permutation so) and rank r takes its windows r, r + world_size, ...: every rank steps equally often.
    """

    def __init__(self, num_windows: int, batch_size: int, shuffle: bool, seed: int = 0, rank: int = 0,
                 world_size: int = 1) -> None:
        if batch_size < 1:
            raise TimBenchError(f"batch_size is {batch_size}; set train_cfg.batch_size / test_cfg.batch_size to 1 "
                                f"or more.")
        per_rank = batch_size // world_size
        if shuffle and per_rank == 0:
            raise TimBenchError(f"train_cfg.batch_size={batch_size} is the global batch, which the {world_size} "
                                f"processes share (the original divides it by the number of GPUs): each would get "
                                f"no window and training would make no optimiser step; set train_cfg.batch_size "
                                f"to a multiple of {world_size}.")
        self.num_windows, self.batch_size, self.shuffle, self.seed = num_windows, batch_size, shuffle, seed
        self.rank, self.world_size = rank, world_size
        self.step_size = max(per_rank, 1) * world_size if shuffle else max(per_rank, 1)  # windows per batch drawn
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw a new order for ``epoch`` (the same seed and epoch give the same batches)."""
        self.epoch = epoch

    def _shuffled(self, rng: np.random.Generator) -> list[np.ndarray]:
        raise NotImplementedError

    def _num_shuffled(self) -> int:
        """How many batches ``_shuffled`` cuts an epoch into."""
        raise NotImplementedError

    def _batches(self) -> list[np.ndarray]:
        n, size = self.num_windows, self.step_size
        if not self.shuffle:
            return [np.arange(i, min(i + size, n)) for i in range(0, n, size)]
        return self._shuffled(np.random.default_rng([self.seed, self.epoch]))

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._batches()
        w = self.world_size
        if w > 1 and self.shuffle:  # every rank gets a share of every global batch
            batches = [np.resize(b, -(-len(b) // w) * w)[self.rank::w] for b in batches]
        elif w > 1:
            batches = batches[self.rank::w]
        return iter([EpochBatch(b.tolist(), self.epoch) for b in batches])

    def __len__(self) -> int:
        if self.shuffle:
            return self._num_shuffled()
        n = -(-self.num_windows // self.step_size)
        return len(range(self.rank, n, self.world_size))


class UniformBatchSampler(WindowBatchSampler):
    """A uniform random permutation of the windows cut into consecutive batches, the last one short
    (``DataLoader(shuffle=True, drop_last=False)`` as the original TIM loads its windows)."""

    def _padded(self) -> int:
        """The epoch's length padded to a multiple of the world size (DistributedSampler's total_size)."""
        return -(-self.num_windows // self.world_size) * self.world_size

    def _shuffled(self, rng: np.random.Generator) -> list[np.ndarray]:
        # padded with the permutation's first windows, as DistributedSampler(drop_last=False) pads
        order = np.resize(rng.permutation(self.num_windows), self._padded())
        return [order[i:i + self.step_size] for i in range(0, len(order), self.step_size)]

    def _num_shuffled(self) -> int:
        return -(-self._padded() // self.step_size)


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
        size = self.step_size
        chunk = size * self.bucket_batches
        batches = []
        for c in range(0, len(order), chunk):
            part = order[c:c + chunk]
            part = part[np.argsort(self.counts[part], kind="stable")]
            batches += [part[i:i + size] for i in range(0, len(part), size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def _num_shuffled(self) -> int:
        chunk = self.step_size * self.bucket_batches
        full, rest = divmod(self.num_windows, chunk)
        return full * self.bucket_batches + -(-rest // self.step_size)


def make_batch_sampler(kind: str, query_counts: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0,
                       rank: int = 0, world_size: int = 1) -> WindowBatchSampler:
    """The ``train_cfg.sampler`` named ``kind`` over windows with ``query_counts`` queries each."""
    if kind == "uniform":
        return UniformBatchSampler(len(query_counts), batch_size, shuffle, seed, rank, world_size)
    if kind == "bucketed":
        return BucketBatchSampler(query_counts, batch_size, shuffle, seed, rank=rank, world_size=world_size)
    raise TimBenchError(f"train_cfg.sampler is {kind!r}; use one of {', '.join(map(repr, SAMPLERS))} "
                        f"('uniform' trains the original TIM objective).")
