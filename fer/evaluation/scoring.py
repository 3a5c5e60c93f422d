"""The one way a checkpoint is scored: fp32 probabilities for every face of a split, in one pass or as the
mean over test-time augmentation views (flip: the face and its mirror; twelve-crop: those and five crops with their mirrors).

The report written after training and `scripts/eval.py` both call `evaluate_split`, so the same
checkpoint on the same faces gives the same numbers whichever path scored it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F

from fer.checkpoints.loading import LoadedModel, load_model
from fer.constants import CLASSES
from fer.data.preprocess import model_input_batches
from fer.data.splits import LabeledImages
from fer.errors import CheckpointError, ConfigError
from fer.progress import progress

TTA_MODES = ("none", "flip", "twelvecrop")
# Old names of renamed modes, read as the new ones, so commands and configs written before still run.
TTA_ALIASES = {"tencrop": "twelvecrop"}


def tta_mode(mode: str, setting: str = "tta") -> str:
    """The current name of the TTA mode `mode` (an old name gives its new one); refused when it is neither."""
    current = TTA_ALIASES.get(mode, mode)
    if current not in TTA_MODES:
        raise ConfigError(f"{setting}={mode!r} is not one of {', '.join(TTA_MODES)}")
    return current


def five_crops(x: torch.Tensor, size: int, resize: bool = True) -> list[torch.Tensor]:
    """Four corners and the centre, each `size` px square, resized back to the input size unless told not to."""
    h, w = x.shape[-2:]
    tops = [(0, 0), (0, w - size), (h - size, 0), (h - size, w - size), ((h - size) // 2, (w - size) // 2)]
    crops = [x[..., t : t + size, left : left + size] for t, left in tops]
    if not resize:
        return crops
    return [F.interpolate(c, size=(h, w), mode="bilinear", align_corners=False) for c in crops]


def views(x: torch.Tensor, mode: str, crop: int = 44) -> list[torch.Tensor]:
    """The batches a model sees under each TTA mode (the first is always the plain input)."""
    mode = tta_mode(mode)
    if mode == "none":
        return [x]
    if mode == "flip":
        return [x, x.flip(-1)]
    crops = five_crops(x, crop)
    return [x, x.flip(-1)] + crops + [c.flip(-1) for c in crops]


# Forward passes take at most this many images. Activations of thousands of 48x48 faces run to
# gigabytes, and buffers that large are mapped fresh from the kernel and zeroed on every pass:
# twelve-crop over 512 faces (6,144 images) spent more time in the kernel than in the convolutions.
MAX_FORWARD = 64


@torch.inference_mode()
def predict_probs(model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, mode: str = "none",
                  max_forward: int = MAX_FORWARD) -> torch.Tensor:
    """Mean softmax over the views of `mode`, forwarding the stacked views `max_forward` images at a time."""
    vs = views(x, mode)
    logits = torch.cat([model(chunk) for chunk in torch.cat(vs).split(max_forward)])
    return logits.float().softmax(1).view(len(vs), len(x), -1).mean(0)


def load_ensemble(paths: Sequence[str | Path], device: torch.device | str = "cpu") -> list[LoadedModel]:
    """Training checkpoints (.ckpt) or bundles (.pt), weights-only, checked to agree on their classes."""
    models = [load_model(p) for p in paths]
    for m in models[1:]:
        if m.class_names != models[0].class_names:
            raise CheckpointError(f"an ensemble needs the same classes in every checkpoint: {m.path} has "
                                  f"{m.class_names}, {models[0].path} has {models[0].class_names}")
    for m in models:
        m.net.to(device)
    return models


def class_order(model_classes: Sequence[str], data_classes: Sequence[str] = CLASSES) -> torch.Tensor:
    """Column indices that put a model's outputs in the data's class order.

    The same names in another order are mapped by name; any other difference is refused before
    a single face is scored, since a per-class report under the wrong names would be silently wrong.
    """
    model_classes, data_classes = list(model_classes), list(data_classes)
    if sorted(model_classes) != sorted(data_classes):
        raise CheckpointError(
            f"the model predicts {len(model_classes)} classes ({', '.join(model_classes)}) but the data is "
            f"labelled with {len(data_classes)} ({', '.join(data_classes)}); a model can only be scored on "
            "data with the same classes")
    return torch.tensor([model_classes.index(c) for c in data_classes])


class Scorer(Protocol):
    """Anything with class names that maps a (N,1,48,48) float batch to logits, e.g. a classifier backend."""

    class_names: list[str]

    def __call__(self, batch: torch.Tensor) -> torch.Tensor: ...


@torch.inference_mode()
def evaluate_split(
    models: Sequence[LoadedModel | Scorer], faces: LabeledImages, tta: str = "none", batch_size: int = 512,
    data_classes: Sequence[str] = CLASSES, progress_bar: bool | None = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean fp32 probabilities over the ensemble (and TTA views) for every face, in the data's class order.

    models: loaded checkpoints (run by torch here) or scorers such as fer.inference's ONNX Runtime
    backend. Returns (probs (N, C), targets (N,)), on the CPU.
    """
    orders = [class_order(m.class_names, data_classes) for m in models]
    nets = [m.net.float().eval() if isinstance(m, LoadedModel) else m for m in models]
    device = next(nets[0].parameters()).device if isinstance(nets[0], torch.nn.Module) else torch.device("cpu")
    probs = []
    batches = model_input_batches(faces.images, batch_size, device)
    for x in progress(batches, total=math.ceil(len(faces.labels) / batch_size), enabled=progress_bar, unit="batch",
                      desc="scoring"):
        p = torch.stack([predict_probs(net, x, tta)[:, order.to(device)] for net, order in zip(nets, orders, strict=True)])
        probs.append(p.mean(0).cpu())
    if not probs:
        return torch.empty(0, len(data_classes)), faces.labels.clone()
    return torch.cat(probs), faces.labels.clone()
