"""LightningDataModule over decoded, in-memory FER-2013 tensors."""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from fer.constants import CLASSES, NUM_CLASSES
from fer.data.augment import AugmentConfig, BatchAugment, build_sample_transform
from fer.data.class_weights import balanced_class_weights
from fer.data.load import load_fer2013
from fer.data.preprocess import to_model_input
from fer.data.sharding import batch_sampler
from fer.data.splits import FERSplits, LabeledImages
from fer.errors import DataError

log = logging.getLogger(__name__)


class FaceBatches(Dataset):
    """Indexed by a list of indices and returns a whole uint8 batch, so no per-sample collate runs.
    With `with_index` the batch also carries those indices (offline distillation looks its soft labels up)."""

    def __init__(self, data: LabeledImages, transform=None, with_index: bool = False):
        self.data = data
        self.transform = transform
        self.with_index = with_index

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, indices: list[int]) -> tuple[torch.Tensor, ...]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        images = self.data.images[idx].unsqueeze(1)  # (N,1,48,48) uint8
        if self.transform is not None:
            images = torch.stack([self.transform(img) for img in images])
        return (images, self.data.labels[idx], idx) if self.with_index else (images, self.data.labels[idx])


class FERDataModule(L.LightningDataModule):
    def __init__(
        self,
        root: str,
        cache_dir: str | None = None,
        batch_size: int = 64,
        eval_batch_size: int = 256,
        num_workers: int = 0,
        augment: dict[str, Any] | None = None,
        train_subset: int | None = None,
        eval_subset: int | None = None,
        seed: int = 0,
    ):
        super().__init__()
        self.root, self.cache_dir = root, cache_dir
        self.batch_size, self.eval_batch_size, self.num_workers = batch_size, eval_batch_size, num_workers
        self.train_subset, self.eval_subset, self.seed = train_subset, eval_subset, seed
        self.use_augment(augment or {})
        self.splits: FERSplits | None = None
        self.train_index = False  # training batches as (images, labels, indices into the train split)

    def use_augment(self, augment: dict[str, Any]) -> None:
        """Train with these augmentation settings from the next training loader on (a budget plan may
        change them after construction)."""
        self.augment_cfg = AugmentConfig.from_dict(augment)
        self.batch_augment = BatchAugment(self.augment_cfg) if self.augment_cfg.mode == "batched" else None

    @property
    def class_names(self) -> tuple[str, ...]:
        return CLASSES

    def setup(self, stage: str | None = None) -> None:
        if self.splits is not None:
            return
        splits = load_fer2013(self.root, self.cache_dir)
        if self.train_subset or self.eval_subset:
            g = torch.Generator().manual_seed(self.seed)
            for name, limit in (("train", self.train_subset), ("val", self.eval_subset), ("test", self.eval_subset)):
                part = splits[name]
                if limit and len(part) > limit:
                    setattr(splits, name, part.subset(torch.randperm(len(part), generator=g)[:limit]))
        if len(splits.train) == 0:
            raise DataError(f"no training images found in {splits.source}")
        self.splits = splits
        log.info("FER-2013 from %s\n%s", splits.source, splits.summary())

    def class_weights(self) -> torch.Tensor:
        self.setup()
        return balanced_class_weights(self.splits.train.labels, NUM_CLASSES)

    def _loader(self, split: str, train: bool) -> DataLoader:
        self.setup()
        data = self.splits[split]
        if len(data) == 0:
            raise DataError(f"the {split} split is empty in {self.splits.source}")
        transform = build_sample_transform(self.augment_cfg) if train else None
        size = self.batch_size if train else self.eval_batch_size
        # Under DDP each process loads its own share; outside a Trainer (eval, TTA) there is one process.
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer is not None else (0, 1)
        batches = batch_sampler(len(data), size, train, rank, world, self.seed)
        return DataLoader(
            FaceBatches(data, transform, with_index=train and self.train_index),
            sampler=batches,
            batch_size=None,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def eval_dataloader(self, split: str) -> DataLoader:
        """Any split in order and without augmentation (evaluation, TTA, ensembles)."""
        return self._loader(split, train=False)

    def val_dataloader(self) -> DataLoader:
        return self.eval_dataloader("val")

    def test_dataloader(self) -> DataLoader:
        return self.eval_dataloader("test")

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        images, labels, *index = batch
        images = to_model_input(images)
        if self.batch_augment is not None and self.trainer is not None and self.trainer.training:
            images = self.batch_augment(images)
        return images, labels, *index
