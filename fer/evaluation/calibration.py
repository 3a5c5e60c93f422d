"""How far a model's probabilities can be taken at their word: the expected calibration error (torchmetrics),
the mean negative log-likelihood of the true class, and the per-bin counts a reliability diagram draws."""

from __future__ import annotations

from typing import Any

import torch
from torchmetrics.functional.classification import multiclass_calibration_error

# Equal-width bins of the top-class probability over [0, 1], the usual choice for ECE.
CALIBRATION_BINS = 15


def reliability_bins(probs: torch.Tensor, targets: torch.Tensor, n_bins: int = CALIBRATION_BINS) -> dict[str, list]:
    """Per bin of top-class probability: its edges, how many faces fall in it, their mean confidence and how
    often their top class is right (None for an empty bin). Bins are [lo, hi), the last one closed."""
    confidence, predicted = probs.float().max(1)
    correct = (predicted == targets).float()
    index = (confidence * n_bins).long().clamp(0, n_bins - 1)
    count = torch.bincount(index, minlength=n_bins)
    conf_sum = torch.zeros(n_bins).index_add_(0, index, confidence)
    right = torch.zeros(n_bins).index_add_(0, index, correct)

    def per_bin(total: torch.Tensor) -> list[float | None]:
        return [round(float(t / c), 4) if c else None for t, c in zip(total, count, strict=True)]

    return {
        "edges": [round(i / n_bins, 4) for i in range(n_bins + 1)],
        "count": count.tolist(),
        "confidence": per_bin(conf_sum),
        "accuracy": per_bin(right),
    }


def calibration_summary(probs: torch.Tensor, targets: torch.Tensor, n_bins: int = CALIBRATION_BINS) -> dict[str, Any]:
    """ECE (L1, top label, `n_bins` equal bins), mean NLL of the true class, and the reliability bins.

    A probability of exactly 0 for the true class is taken as the smallest positive fp32 number, so one
    face cannot make the NLL infinite.
    """
    if len(targets) == 0:
        return {"ece": None, "nll": None, "calibration_bins": n_bins, "reliability": None}
    probs = probs.float()
    ece = multiclass_calibration_error(probs, targets, probs.shape[1], n_bins=n_bins, norm="l1")
    true_class = probs.gather(1, targets.long().view(-1, 1)).squeeze(1)
    nll = -true_class.clamp_min(torch.finfo(torch.float32).tiny).log().mean()
    return {
        "ece": round(float(ece), 4),
        "nll": round(float(nll), 4),
        "calibration_bins": n_bins,
        "reliability": reliability_bins(probs, targets, n_bins),
    }
