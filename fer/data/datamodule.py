"""LightningDataModule over decoded, in-memory face tensors: FER-2013 or any dataset of fer.data.datasets."""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from fer.data.augment import AugmentConfig, BatchAugment, build_sample_transform
from fer.data.class_weights import balanced_class_weights
from fer.data.datasets import check_name, describe, known_class_names, load_dataset
from fer.data.preprocess import to_model_input
from fer.data.sharding import batch_sampler
from fer.data.splits import FERSplits, LabeledImages
from fer.errors import DataError

log = logging.getLogger(__name__)


class FaceBatches(Dataset):
    """Indexed by a list of indices and returns a whole uint8 batch, so no per-sample collate runs.
    With `with_index` the batch also carries those indices (offline distillation looks its soft labels up).

    `targets` says what a batch's labels are where the faces carry vote distributions (FER+ training):
    "labels" the hard labels, "probability" a class drawn from each face's distribution anew whenever the
    face is loaded (once an epoch), "crossentropy" the float (N, classes) distributions themselves."""

    def __init__(self, data: LabeledImages, transform=None, with_index: bool = False, targets: str = "labels"):
        self.data = data
        self.transform = transform
        self.with_index = with_index
        self.targets = targets if data.targets is not None else "labels"

    def labels(self, idx: torch.Tensor) -> torch.Tensor:
        if self.targets == "probability":
            return torch.multinomial(self.data.targets[idx], 1).squeeze(1)
        if self.targets == "crossentropy":
            return self.data.targets[idx]
        return self.data.labels[idx]

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, indices: list[int]) -> tuple[torch.Tensor, ...]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        images = self.data.images[idx].unsqueeze(1)  # (N,1,48,48) uint8
        if self.transform is not None:
            images = torch.stack([self.transform(img) for img in images])
        labels = self.labels(idx)
        return (images, labels, idx) if self.with_index else (images, labels)


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
        name: str = "fer2013",
        val_fraction: float = 0.1,
        label_mode: str = "majority",
    ):
        """`name` picks the reader (fer.data.datasets.DATASETS); `val_fraction` is the stratified share of
        train held out as val where a dataset has no val split; `label_mode` is FER+'s (fer.data.ferplus)."""
        super().__init__()
        self.dataset = check_name(name)  # not `name`: LightningDataModule has an attribute of its own
        self.val_fraction, self.label_mode = val_fraction, label_mode
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
        """The classes the labels index; a folder tree's are known only once it is read."""
        if self.splits is not None:
            return self.splits.class_names
        known = known_class_names(self.dataset)
        if known is None:
            self.setup()
            return self.splits.class_names
        return known

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def setup(self, stage: str | None = None) -> None:
        if self.splits is not None:
            return
        splits = load_dataset(self.dataset, self.root, self.cache_dir, val_fraction=self.val_fraction,
                              label_mode=self.label_mode, seed=self.seed)
        if self.train_subset or self.eval_subset:
            g = torch.Generator().manual_seed(self.seed)
            for name, limit in (("train", self.train_subset), ("val", self.eval_subset), ("test", self.eval_subset)):
                part = splits[name]
                if limit and len(part) > limit:
                    setattr(splits, name, part.subset(torch.randperm(len(part), generator=g)[:limit]))
        if len(splits.train) == 0:
            raise DataError(f"no training images found in {splits.source}")
        self.splits = splits
        log.info("%s from %s\n%s", "FER-2013" if self.dataset == "fer2013" else self.dataset, splits.source,
                 splits.summary())

    def description(self) -> str:
        """The dataset and where it was read from, as a trained model's metadata records it."""
        self.setup()
        return describe(self.dataset, self.splits.source)

    def class_weights(self) -> torch.Tensor:
        self.setup()
        return balanced_class_weights(self.splits.train.labels, self.num_classes)

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
            FaceBatches(data, transform, with_index=train and self.train_index,
                        targets=self.label_mode if train else "labels"),
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
