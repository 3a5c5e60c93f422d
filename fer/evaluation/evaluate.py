"""The one way a checkpoint is scored: fp32 probabilities for every face of a split.

The report written after training and `scripts/eval.py` both call `evaluate_split`, so the same
checkpoint on the same faces gives the same numbers whichever path scored it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import torch

from fer.checkpoints.loading import LoadedModel, load_model
from fer.constants import CLASSES
from fer.data.preprocess import model_input_batches
from fer.data.splits import LabeledImages
from fer.errors import CheckpointError
from fer.evaluation.tta import predict_probs


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
    data_classes: Sequence[str] = CLASSES,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean fp32 probabilities over the ensemble (and TTA views) for every face, in the data's class order.

    models: loaded checkpoints (run by torch here) or scorers such as fer.inference's ONNX Runtime
    backend. Returns (probs (N, C), targets (N,)), on the CPU.
    """
    orders = [class_order(m.class_names, data_classes) for m in models]
    nets = [m.net.float().eval() if isinstance(m, LoadedModel) else m for m in models]
    device = next(nets[0].parameters()).device if isinstance(nets[0], torch.nn.Module) else torch.device("cpu")
    probs = []
    for x in model_input_batches(faces.images, batch_size, device):
        p = torch.stack([predict_probs(net, x, tta)[:, order.to(device)] for net, order in zip(nets, orders, strict=True)])
        probs.append(p.mean(0).cpu())
    if not probs:
        return torch.empty(0, len(data_classes)), faces.labels.clone()
    return torch.cat(probs), faces.labels.clone()
