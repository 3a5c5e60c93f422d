"""Evaluate one checkpoint or an ensemble of them on a split, with optional test-time augmentation."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch

from fer.data.datamodule import FERDataModule
from fer.module import FERModule
from fer.tta import predict_probs

log = logging.getLogger(__name__)


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> FERModule:
    """Weights-only load of an FERModule checkpoint, with an error that says what went wrong."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; pass ckpt=<path to a .ckpt file>")
    try:
        module = FERModule.load_from_checkpoint(path, map_location=device, weights_only=True)
    except Exception as err:
        raise ValueError(f"could not load {path} as an FER checkpoint: {err}") from err
    return module.eval().to(device)


@torch.inference_mode()
def evaluate_split(
    modules: Sequence[FERModule], datamodule: FERDataModule, split: str, tta: str = "none"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean probabilities over the ensemble (and TTA views) for every image of the split."""
    loader = datamodule.eval_dataloader(split)
    device = next(modules[0].parameters()).device
    probs, targets = [], []
    for images, labels in loader:
        x = datamodule.on_after_batch_transfer((images.to(device), labels), 0)[0]
        p = torch.stack([predict_probs(m, x, tta) for m in modules]).mean(0)
        probs.append(p.cpu())
        targets.append(labels)
    return torch.cat(probs), torch.cat(targets)
