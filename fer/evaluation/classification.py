"""Per-class precision, recall, F1 and support, computed with torchmetrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torchmetrics.functional.classification import (
    multiclass_accuracy,
    multiclass_confusion_matrix,
    multiclass_f1_score,
    multiclass_precision,
    multiclass_recall,
)


def classification_table(probs: torch.Tensor, targets: torch.Tensor, class_names: Sequence[str]) -> dict[str, Any]:
    """Everything the report shows, as plain JSON-ready values."""
    n = len(class_names)
    preds = probs.argmax(1)
    per_class = {
        "precision": multiclass_precision(preds, targets, n, average=None, zero_division=0),
        "recall": multiclass_recall(preds, targets, n, average=None, zero_division=0),
        "f1": multiclass_f1_score(preds, targets, n, average=None, zero_division=0),
    }
    support = torch.bincount(targets, minlength=n)
    classes = {
        name: {**{k: round(float(v[i]), 4) for k, v in per_class.items()}, "support": int(support[i])}
        for i, name in enumerate(class_names)
    }
    return {
        "accuracy": round(float(multiclass_accuracy(preds, targets, n, average="micro")), 4),
        "macro_f1": round(float(multiclass_f1_score(preds, targets, n, average="macro", zero_division=0)), 4),
        "macro_precision": round(float(per_class["precision"].mean()), 4),
        "macro_recall": round(float(per_class["recall"].mean()), 4),
        "weighted_f1": round(float((per_class["f1"] * support).sum() / support.sum().clamp(min=1)), 4),
        "support": int(support.sum()),
        "classes": classes,
        "confusion_matrix": multiclass_confusion_matrix(preds, targets, n).tolist(),
    }


def markdown_table(table: dict[str, Any]) -> str:
    lines = ["| class | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for name, row in table["classes"].items():
        lines.append(f"| {name} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['support']} |")
    lines.append(
        f"| **macro avg** | {table['macro_precision']:.3f} | {table['macro_recall']:.3f} | "
        f"{table['macro_f1']:.3f} | {table['support']} |"
    )
    lines.append(f"| **accuracy** | | | {table['accuracy']:.3f} | {table['support']} |")
    return "\n".join(lines)
