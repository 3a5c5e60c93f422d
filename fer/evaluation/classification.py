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
    # Macro averages run over the classes present in the labels, all three over the same set: a class
    # with no faces has no recall to average, and counting it as 0 would understate every macro score.
    present = support > 0
    if not present.any():
        present = torch.ones_like(present)

    def macro(values: torch.Tensor) -> float:
        return round(float(values[present].mean()), 4)

    return {
        "accuracy": round(float(multiclass_accuracy(preds, targets, n, average="micro")), 4),
        "macro_f1": macro(per_class["f1"]),
        "macro_precision": macro(per_class["precision"]),
        "macro_recall": macro(per_class["recall"]),
        "absent_classes": [name for i, name in enumerate(class_names) if support[i] == 0],
        "weighted_f1": round(float((per_class["f1"] * support).sum() / support.sum().clamp(min=1)), 4),
        "support": int(support.sum()),
        "classes": classes,
        "confusion_matrix": multiclass_confusion_matrix(preds, targets, n).tolist(),
    }


def markdown_table(table: dict[str, Any]) -> str:
    lines = ["| class | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    absent = table.get("absent_classes") or []
    for name, row in table["classes"].items():
        if name in absent:
            lines.append(f"| {name} | absent | absent | absent | 0 |")
        else:
            lines.append(f"| {name} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | "
                         f"{row['support']} |")
    over = f" ({len(table['classes']) - len(absent)} classes present)" if absent else ""
    lines.append(
        f"| **macro avg**{over} | {table['macro_precision']:.3f} | {table['macro_recall']:.3f} | "
        f"{table['macro_f1']:.3f} | {table['support']} |"
    )
    lines.append(f"| **accuracy** | | | {table['accuracy']:.3f} | {table['support']} |")
    return "\n".join(lines)
