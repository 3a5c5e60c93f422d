"""Balanced class weights, as sklearn's compute_class_weight('balanced') defines them."""

from __future__ import annotations

import torch


def balanced_class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """weight_c = N / (num_classes * count_c); an absent class gets weight 0 rather than inf."""
    counts = torch.bincount(labels, minlength=num_classes).double()
    weights = torch.where(counts > 0, len(labels) / (num_classes * counts.clamp(min=1)), torch.zeros_like(counts))
    return weights.float()
