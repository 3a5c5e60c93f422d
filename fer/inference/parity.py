"""Do two classifier backends agree? Max probability difference on a batch, and accuracy on labelled faces."""

from __future__ import annotations

import numpy as np

from fer.data.preprocess import to_model_input
from fer.inference.backends import ClassifierBackend


def batch_probs(backend: ClassifierBackend, faces: np.ndarray, batch: int = 512) -> np.ndarray:
    """uint8 faces (N,48,48) -> (N, C) probabilities, in batches."""
    x = to_model_input(np.ascontiguousarray(faces))
    return np.concatenate([backend.probs(x[i:i + batch]) for i in range(0, len(x), batch)])


def compare(reference: ClassifierBackend, candidate: ClassifierBackend, faces: np.ndarray,
            labels: np.ndarray | None = None) -> dict[str, float]:
    """max_prob_diff over `faces`; with labels also both accuracies, their difference (points) and
    the share of faces whose top class differs."""
    a, b = batch_probs(reference, faces), batch_probs(candidate, faces)
    out = {"faces": len(faces), "max_prob_diff": float(np.abs(a - b).max()) if len(faces) else 0.0,
           "top1_disagree": float((a.argmax(1) != b.argmax(1)).mean()) if len(faces) else 0.0}
    if labels is not None and len(labels):
        acc_a, acc_b = float((a.argmax(1) == labels).mean()), float((b.argmax(1) == labels).mean())
        out.update(reference_acc=acc_a, candidate_acc=acc_b, acc_diff_points=(acc_b - acc_a) * 100)
    return out
