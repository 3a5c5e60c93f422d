"""In-memory containers for decoded face datasets (FER-2013 and the other readers of fer.data)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from fer.constants import CLASSES, IMAGE_SIZE, NUM_CLASSES
from fer.errors import ConfigError


@dataclass
class LabeledImages:
    """Decoded faces of one split: uint8 images (N,48,48) and int64 class indices (N,).

    `targets`, when present, holds a float32 (N, classes) probability distribution per face (FER+ votes
    in its probability / crossentropy label modes); `labels` is then its most voted class.
    """

    images: torch.Tensor
    labels: torch.Tensor
    targets: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or tuple(self.images.shape[1:]) != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"images must be uint8 (N,{IMAGE_SIZE},{IMAGE_SIZE}), got {self.images.dtype} {tuple(self.images.shape)}")
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")
        if self.targets is not None and (self.targets.ndim != 2 or len(self.targets) != len(self.labels)):
            raise ValueError(f"targets must be (N, classes) for {len(self.labels)} faces, got {tuple(self.targets.shape)}")

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self, num_classes: int = NUM_CLASSES) -> list[int]:
        return torch.bincount(self.labels, minlength=num_classes).tolist()

    def subset(self, indices: torch.Tensor) -> LabeledImages:
        targets = None if self.targets is None else self.targets[indices]
        return LabeledImages(self.images[indices], self.labels[indices], targets)


@dataclass
class FERSplits:
    """train / val / test splits plus what the reader had to say about them.

    `class_names` are the classes the labels index (FER-2013's seven unless a reader says otherwise);
    `val_fraction` is the share of the training faces held out as val when the dataset has no val split
    of its own (0: val is the dataset's own).
    """

    train: LabeledImages
    val: LabeledImages
    test: LabeledImages
    source: str = ""
    skipped: int = 0
    notes: list[str] = field(default_factory=list)
    class_names: tuple[str, ...] = CLASSES
    val_fraction: float = 0.0

    def __getitem__(self, split: str) -> LabeledImages:
        if split not in ("train", "val", "test"):
            raise ConfigError(f"unknown split {split!r}; choose one of: train, val, test")
        return getattr(self, split)

    def summary(self) -> str:
        rows = [f"{'split':<6}{'total':>7}  " + " ".join(f"{c[:8]:>8}" for c in self.class_names)]
        for name in ("train", "val", "test"):
            part = self[name]
            counts = part.class_counts(len(self.class_names))
            rows.append(f"{name:<6}{len(part):>7}  " + " ".join(f"{n:>8}" for n in counts))
        if self.val_fraction:
            rows.append(f"val: a stratified {self.val_fraction:.0%} of the training faces (the dataset has no val split)")
        return "\n".join(rows)


@dataclass
class EvalData:
    """The faces of one split to score, where they came from, and what the reader noted."""

    faces: LabeledImages
    source: str
    notes: list[str] = field(default_factory=list)
    skipped: int = 0
    class_names: tuple[str, ...] = CLASSES  # what the labels index
