"""Training augmentation, every kind of it in this one module, configured by the one group `data.augment`:

- the reference's rotation, shift, zoom and flip (and random erasing), in two interchangeable forms:
  `per_sample`, a torchvision v2 pipeline applied to each uint8 image in the dataset, and `batched`, the
  same random affine + flip with per-sample parameters applied to a whole float batch with one
  `affine_grid`/`grid_sample` call, which keeps two CPU cores on the model instead;
- `crop`: training on random crops of that many pixels, the network seeing the whole 48x48 face at test
  time (it pools globally, so any size runs); a 40-pixel crop costs 0.69x the compute of the full face;
  `crop_until` ends the crops part-way through the schedule, so the last stretch trains on whole faces as
  tests see them (batched only: per-sample transforms run in the loader and cannot see the schedule);
- mixup and cutmix (`build_mix`), which mix the images of a batch and say how (`BatchMix`), so the
  training step mixes every target of its faces the same way: class indices, vote distributions, a
  teacher's soft labels (fer.training.module, fer.training.distill).

Every setting not given is conf/data/fer2013.yaml's (fer.data.shipped_conf).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms import v2

from fer.data.shipped_conf import data_settings
from fer.errors import ConfigError
from fer.numbers import one_of, positive_number, whole_number

MODES = ("per_sample", "batched", "none")


def shipped(key: str):
    """The default of one augmentation setting: conf/data/fer2013.yaml's."""
    return field(default_factory=lambda: data_settings()["augment"][key])


@dataclass
class AugmentConfig:
    mode: str = shipped("mode")
    degrees: float = shipped("degrees")  # rotation in [-degrees, +degrees]
    translate: float = shipped("translate")  # shift up to this fraction of width/height
    scale: float = shipped("scale")  # zoom factor in [1 - scale, 1 + scale]
    hflip: float = shipped("hflip")  # probability of a horizontal flip
    erasing: float = shipped("erasing")  # probability of random erasing (0 disables)
    crop: int = shipped("crop")  # train on random crops of this many pixels a side (0: the whole image)
    crop_until: float = shipped("crop_until")  # share of the schedule trained on crops; whole faces after it
    mixup: float = shipped("mixup")  # Beta(alpha, alpha) mixing of image pairs (0 disables)
    cutmix: float = shipped("cutmix")  # Beta(alpha, alpha) pasting of a patch of another image (0 disables)

    def __post_init__(self) -> None:
        one_of(self.mode, "data.augment.mode", MODES)
        for name in ("mixup", "cutmix"):
            positive_number(getattr(self, name), f"data.augment.{name}", allow_zero=True)
        whole_number(self.crop, "data.augment.crop", minimum=0)
        positive_number(self.crop_until, "data.augment.crop_until")
        if self.crop_until > 1:
            raise ConfigError(f"data.augment.crop_until={self.crop_until} is a share of the schedule: 0 < it <= 1")
        if self.crop and self.crop_until < 1 and self.mode == "per_sample":
            raise ConfigError("data.augment.crop_until < 1 needs data.augment.mode=batched (per-sample transforms "
                              "run in the loader, where the schedule's progress is unknown)")

    @classmethod
    def from_dict(cls, settings: dict[str, Any], where: str = "data.augment") -> AugmentConfig:
        """Settings from a config, with a misspelt key named beside the valid ones (not a TypeError)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown setting(s) {unknown}; valid: {', '.join(sorted(known))}")
        return cls(**settings)


class BatchMix(nn.Module):
    """Mixup or cutmix of a batch (torchvision's), returning the mixed images and a (B, B) matrix whose row
    i holds the weight of each of the batch's faces in mixed face i. Targets of any kind are then mixed
    exactly as the pixels were, as `weights @ targets` for (B, classes) targets: torchvision mixes the rows
    of an identity matrix given as the labels with the same draw and pairing as the images."""

    def __init__(self, ops: list[nn.Module]):
        super().__init__()
        self.choice = v2.RandomChoice(ops)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mixed, weights = self.choice(x, torch.eye(len(x), device=x.device))
        return mixed, weights


def build_mix(cfg: AugmentConfig) -> BatchMix | None:
    """Mixup and/or cutmix (one of them drawn per batch when both are on), or None when both are off."""
    ops: list[nn.Module] = []
    if cfg.mixup > 0:
        ops.append(v2.MixUp(alpha=cfg.mixup))
    if cfg.cutmix > 0:
        ops.append(v2.CutMix(alpha=cfg.cutmix))
    return BatchMix(ops) if ops else None


def build_sample_transform(cfg: AugmentConfig) -> v2.Compose | None:
    """torchvision v2 pipeline for one (1,48,48) uint8 image, or None when augmentation is off."""
    if cfg.mode != "per_sample":
        return None
    ops: list[nn.Module] = [
        v2.RandomAffine(
            degrees=cfg.degrees, translate=(cfg.translate, cfg.translate), scale=(1 - cfg.scale, 1 + cfg.scale)
        ),
        v2.RandomHorizontalFlip(cfg.hflip),
    ]
    if cfg.crop:
        ops.append(v2.RandomCrop(cfg.crop))
    if cfg.erasing > 0:
        ops.append(v2.RandomErasing(p=cfg.erasing, value=0))
    return v2.Compose(ops)


class BatchAugment(nn.Module):
    """Per-sample random affine + flip (+ optional erasing) for a float batch (N,C,H,W)."""

    def __init__(self, cfg: AugmentConfig):
        super().__init__()
        self.cfg = cfg

    @property
    def follows_schedule(self) -> bool:
        """Whether `forward` needs the schedule's progress (crops that end part-way)."""
        return bool(self.cfg.crop) and self.cfg.crop_until < 1

    def sample_params(self, n: int, device: torch.device) -> dict[str, torch.Tensor]:
        c = self.cfg

        def uniform(lo: float, hi: float) -> torch.Tensor:
            return torch.empty(n, device=device).uniform_(lo, hi)

        return {
            "angle": uniform(-c.degrees, c.degrees),
            "tx": uniform(-c.translate, c.translate),
            "ty": uniform(-c.translate, c.translate),
            "zoom": uniform(1 - c.scale, 1 + c.scale),
            "flip": torch.rand(n, device=device) < c.hflip,
        }

    @staticmethod
    def theta(p: dict[str, torch.Tensor]) -> torch.Tensor:
        """Inverse affine (output -> input coords, normalised [-1, 1]) for affine_grid."""
        a = p["angle"] * (math.pi / 180)
        cos, sin = torch.cos(a) / p["zoom"], torch.sin(a) / p["zoom"]
        sign = 1 - 2 * p["flip"].float()  # -1 mirrors x
        # Shifts are fractions of the image; normalised coordinates span 2 units.
        tx, ty = 2 * p["tx"], 2 * p["ty"]
        row0 = torch.stack([cos * sign, sin * sign, -(cos * tx + sin * ty) * sign], dim=1)
        row1 = torch.stack([-sin, cos, sin * tx - cos * ty], dim=1)
        return torch.stack([row0, row1], dim=1)

    def crop_window(self, theta: torch.Tensor, size: int) -> torch.Tensor:
        """`theta` composed with a random `crop` x `crop` window of the augmented `size` x `size` image, at
        the same pixel scale: output coordinates u map to window coordinates s * u + o, with s = crop / size
        and the offset o drawn so that the window stays inside."""
        s = self.cfg.crop / size
        offset = torch.empty(len(theta), 2, 1, device=theta.device).uniform_(-(1 - s), 1 - s).to(theta.dtype)
        linear, shift = theta[:, :, :2], theta[:, :, 2:]
        return torch.cat([linear * s, linear @ offset + shift], dim=2)

    def forward(self, x: torch.Tensor, progress: float = 0.0) -> torch.Tensor:
        """`progress`: the share of the training schedule done, in [0, 1]; crops end at `crop_until`."""
        n, c, h, w = x.shape
        theta = self.theta(self.sample_params(n, x.device)).to(x.dtype)
        size = [n, c, h, w]
        if self.cfg.crop and progress < self.cfg.crop_until:
            if self.cfg.crop > min(h, w) or h != w:
                raise ConfigError(f"data.augment.crop={self.cfg.crop} needs square images of at least that size; "
                                  f"these are {h}x{w}")
            theta, size = self.crop_window(theta, h), [n, c, self.cfg.crop, self.cfg.crop]
        grid = F.affine_grid(theta, size, align_corners=False)
        out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        if self.cfg.erasing > 0:
            out = self.erase(out)
        return out

    def erase(self, x: torch.Tensor) -> torch.Tensor:
        """Zero one random rectangle (2-33% of the area) in a random subset of the batch."""
        n, _, h, w = x.shape
        area = torch.empty(n, device=x.device).uniform_(0.02, 0.33) * h * w
        aspect = torch.exp(torch.empty(n, device=x.device).uniform_(math.log(0.3), math.log(3.3)))
        eh = (area * aspect).sqrt().clamp(1, h)
        ew = (area / aspect).sqrt().clamp(1, w)
        y0 = torch.rand(n, device=x.device) * (h - eh)
        x0 = torch.rand(n, device=x.device) * (w - ew)
        ys = torch.arange(h, device=x.device).view(1, h, 1)
        xs = torch.arange(w, device=x.device).view(1, 1, w)
        rows = (ys >= y0.view(n, 1, 1)) & (ys < (y0 + eh).view(n, 1, 1))
        cols = (xs >= x0.view(n, 1, 1)) & (xs < (x0 + ew).view(n, 1, 1))
        inside = rows & cols & (torch.rand(n, device=x.device) < self.cfg.erasing).view(n, 1, 1)
        return x.masked_fill(inside.unsqueeze(1), 0.0)
