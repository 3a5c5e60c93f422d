"""In-memory containers for decoded FER-2013 splits."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from fer.constants import CLASSES, IMAGE_SIZE, NUM_CLASSES
from fer.errors import ConfigError


@dataclass
class LabeledImages:
    """Decoded faces of one split: uint8 images (N,48,48) and int64 class indices (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or tuple(self.images.shape[1:]) != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"images must be uint8 (N,{IMAGE_SIZE},{IMAGE_SIZE}), got {self.images.dtype} {tuple(self.images.shape)}")
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> list[int]:
        return torch.bincount(self.labels, minlength=NUM_CLASSES).tolist()

    def subset(self, indices: torch.Tensor) -> LabeledImages:
        return LabeledImages(self.images[indices], self.labels[indices])


@dataclass
class FERSplits:
    """train / val / test splits plus what the reader had to say about them."""

    train: LabeledImages
    val: LabeledImages
    test: LabeledImages
    source: str = ""
    skipped: int = 0
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, split: str) -> LabeledImages:
        if split not in ("train", "val", "test"):
            raise ConfigError(f"unknown split {split!r}; choose one of: train, val, test")
        return getattr(self, split)

    def summary(self) -> str:
        rows = [f"{'split':<6}{'total':>7}  " + " ".join(f"{c[:8]:>8}" for c in CLASSES)]
        for name in ("train", "val", "test"):
            part = self[name]
            rows.append(f"{name:<6}{len(part):>7}  " + " ".join(f"{n:>8}" for n in part.class_counts()))
        return "\n".join(rows)



@dataclass
class EvalData:
    """The faces of one split to score, where they came from, and what the reader noted."""

    faces: LabeledImages
    source: str
    notes: list[str] = field(default_factory=list)
    skipped: int = 0
