"""LightningDataModule over decoded, in-memory face tensors: FER-2013 or any dataset of fer.data.datasets."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from fer.data.augment import AugmentConfig, BatchAugment, build_sample_transform
from fer.data.class_weights import balanced_class_weights
from fer.data.datasets import check_name, describe, known_class_names, load_dataset
from fer.data.preprocess import to_model_input
from fer.data.sharding import batch_sampler
from fer.data.shipped_conf import data_settings
from fer.data.splits import FERSplits, LabeledImages
from fer.errors import DataError
from fer.numbers import known_settings, whole_number
from fer.schedule import schedule_progress

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
        targets = self.data.targets  # None: no distributions, and self.targets is "labels"
        if targets is not None and self.targets == "probability":
            return torch.multinomial(targets[idx], 1).squeeze(1)
        if targets is not None and self.targets == "crossentropy":
            return targets[idx]
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
        batch_size: int | None = None,
        eval_batch_size: int | None = None,
        num_workers: int | None = None,
        augment: dict[str, Any] | None = None,
        train_subset: int | None = None,
        eval_subset: int | None = None,
        seed: int | None = None,
        name: str | None = None,
        val_fraction: float | None = None,
        label_mode: str | None = None,
    ):
        """`name` picks the reader (fer.data.datasets.DATASETS); `val_fraction` is the stratified share of
        train held out as val where a dataset has no val split; `label_mode` is FER+'s (fer.data.ferplus).
        Without a cache_dir nothing is cached; without a subset every face is used; every other setting not
        given is the shipped conf/data/<name>.yaml's (fer.data.shipped_conf), and each is checked here."""
        super().__init__()
        def setting(key: str, given: Any) -> Any:  # the shipped file is read only for a setting not given
            return data_settings(name).get(key) if given is None else given

        self.dataset = check_name(setting("name", name))  # not `name`: LightningDataModule has its own
        self.val_fraction, self.label_mode = setting("val_fraction", val_fraction), setting("label_mode", label_mode)
        self.root, self.cache_dir = root, cache_dir
        self.batch_size = whole_number(setting("batch_size", batch_size), "data.batch_size", 1)
        self.eval_batch_size = whole_number(setting("eval_batch_size", eval_batch_size), "data.eval_batch_size", 1)
        self.num_workers = whole_number(setting("num_workers", num_workers), "data.num_workers", 0)
        self.train_subset = whole_number(train_subset, "data.train_subset", 1, allow_none=True)
        self.eval_subset = whole_number(eval_subset, "data.eval_subset", 1, allow_none=True)
        self.seed = whole_number(setting("seed", seed), "data.seed", 0)
        self.augment_cfg = AugmentConfig.from_dict(augment or {})
        self.batch_augment = BatchAugment(self.augment_cfg) if self.augment_cfg.mode == "batched" else None
        self.splits: FERSplits | None = None
        self.train_index = False  # training batches as (images, labels, indices into the train split)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> FERDataModule:
        """From the `data` config group, a misspelt key refused with the valid ones."""
        known_settings(settings, dict.fromkeys(inspect.signature(cls.__init__).parameters.keys() - {"self"}),
                       "data")
        return cls(**settings)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The classes the labels index; a folder tree's are known only once it is read."""
        if self.splits is not None:
            return self.splits.class_names
        known = known_class_names(self.dataset)
        return self.loaded_splits().class_names if known is None else known

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

    def loaded_splits(self) -> FERSplits:
        """The splits, read on first use (setup)."""
        self.setup()
        assert self.splits is not None  # setup() sets them or raises
        return self.splits

    def description(self) -> str:
        """The dataset and where it was read from, as a trained model's metadata records it."""
        return describe(self.dataset, self.loaded_splits().source)

    def class_weights(self) -> torch.Tensor:
        return balanced_class_weights(self.loaded_splits().train.labels, self.num_classes)

    def _loader(self, split: str, train: bool) -> DataLoader:
        splits = self.loaded_splits()
        data = splits[split]
        if len(data) == 0:
            raise DataError(f"the {split} split is empty in {splits.source}")
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
            progress = schedule_progress(self.trainer) if self.batch_augment.follows_schedule else 0.0
            images = self.batch_augment(images, progress)
        return images, labels, *index

