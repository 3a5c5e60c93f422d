"""Which faces each process sees when training runs on several processes (DDP).

The DataLoaders index a batch-returning Dataset with a BatchSampler, which Lightning's automatic
DistributedSampler injection does not understand, so the sharding is done here explicitly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

from torch.utils.data import (
    BatchSampler,
    Dataset,
    DistributedSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
)


class EpochBatchSampler(BatchSampler):
    """A BatchSampler that forwards `set_epoch` (Lightning calls it each epoch) to its index sampler."""

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)


class StridedShard(Sampler[int]):
    """Rank r of w takes faces r, r+w, r+2w, ...: every face is scored exactly once across ranks, none twice."""

    def __init__(self, length: int, rank: int, world_size: int):
        self.indices = range(rank, length, world_size)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def batch_sampler(length: int, batch_size: int, train: bool, rank: int = 0, world_size: int = 1,
                  seed: int = 0) -> EpochBatchSampler:
    """Shuffled training batches or ordered evaluation batches of this process's share of the faces.

    Training shards are padded to equal length (DistributedSampler), so every rank takes the same number of
    optimiser steps, which DDP's gradient all-reduce needs. Evaluation shards are not padded: ranks may run
    one batch more or less, and the epoch-end metric sync counts each face once.
    """
    sampler: DistributedSampler[int] | StridedShard | RandomSampler | SequentialSampler
    if world_size > 1:
        if train:
            # DistributedSampler reads only the length of its dataset, which torch types as a Dataset.
            indices = cast(Dataset[int], range(length))
            sampler = DistributedSampler(indices, num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
        else:
            sampler = StridedShard(length, rank, world_size)
    else:
        sampler = RandomSampler(range(length)) if train else SequentialSampler(range(length))
    # drop_last avoids a one-image BatchNorm batch at the end of an epoch.
    return EpochBatchSampler(sampler, batch_size, drop_last=train and len(sampler) > batch_size)
