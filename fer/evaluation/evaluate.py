"""Evaluate one checkpoint or an ensemble of them on a split, with optional test-time augmentation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from fer.checkpoints.loading import LoadedModel, load_model
from fer.data.datamodule import FERDataModule
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


def eval_datamodule(data: dict[str, Any]) -> FERDataModule:
    """The data config of a run with augmentation switched off: what evaluation sees."""
    return FERDataModule(**{**data, "augment": {"mode": "none"}})


@torch.inference_mode()
def evaluate_split(
    models: Sequence[LoadedModel], datamodule: FERDataModule, split: str, tta: str = "none"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean probabilities over the ensemble (and TTA views) for every image of the split."""
    loader = datamodule.eval_dataloader(split)
    device = next(models[0].net.parameters()).device
    probs, targets = [], []
    for images, labels in loader:
        x = datamodule.on_after_batch_transfer((images.to(device), labels), 0)[0]
        p = torch.stack([predict_probs(m.net, x, tta) for m in models]).mean(0)
        probs.append(p.cpu())
        targets.append(labels)
    return torch.cat(probs), torch.cat(targets)
