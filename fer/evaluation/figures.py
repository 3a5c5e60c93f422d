"""Matplotlib figures for reports: training curves, confusion matrices and reliability diagrams."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # reports are written headless
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# Validation accuracy of the published Keras CNN this project reproduces.
REFERENCE_ACC = 0.593


def curves_figure(history: Sequence[dict[str, Any]]) -> plt.Figure:
    """Accuracy and loss per epoch, train and val; plus val accuracy against wall time when recorded."""
    timed = [r for r in history if "time_s" in r and "val/acc" in r]
    fig, axes = plt.subplots(1, 3 if timed else 2, figsize=(16 if timed else 11, 4))
    epochs = [r["epoch"] + 1 for r in history]
    if timed:
        ax = axes[2]
        ax.plot([r["time_s"] / 60 for r in timed], [r["val/acc"] for r in timed], "-s", ms=3, color="C1")
        ax.set_xlabel("wall time (minutes, training + validation)")
        ax.set_ylabel("val accuracy")
        ax.axhline(REFERENCE_ACC, color="grey", ls=":", lw=1, label=f"reference CNN {REFERENCE_ACC:.1%}")
        ax.set_title("Time to accuracy")
        ax.legend(loc="lower right")
        ax.grid(alpha=0.3)
    for ax, metric in zip(axes[:2], ("acc", "loss"), strict=True):
        for split, style in (("train", "-o"), ("val", "-s")):
            key = f"{split}/{metric}"
            pts = [(e, r[key]) for e, r in zip(epochs, history, strict=True) if key in r]
            if pts:
                ax.plot(*zip(*pts, strict=True), style, ms=3, label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy" if metric == "acc" else "loss")
        ax.set_title("Accuracy" if metric == "acc" else "Loss")
        ax.grid(alpha=0.3)
        ax.legend()
    best = max((r for r in history if "val/acc" in r), key=lambda r: r["val/acc"], default=None)
    if best is not None:
        axes[0].axhline(best["val/acc"], color="grey", ls=":", lw=1)
        axes[0].annotate(f"best val {best['val/acc']:.3f} (epoch {best['epoch'] + 1})",
                         (best["epoch"] + 1, best["val/acc"]), textcoords="offset points", xytext=(-120, -14),
                         fontsize=8)
    fig.tight_layout()
    return fig


def confusion_figure(matrix: Sequence[Sequence[int]], class_names: Sequence[str]) -> plt.Figure:
    """Counts on the left, row-normalised (recall per true class) on the right."""
    counts = np.asarray(matrix, dtype=float)
    norm = counts / np.clip(counts.sum(1, keepdims=True), 1, None)
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    for ax, data, title, fmt in ((axes[0], counts, "Counts", "{:.0f}"), (axes[1], norm, "Row-normalised", "{:.2f}")):
        im = ax.imshow(data, cmap="Blues", vmin=0)
        ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
        ax.set_yticks(range(len(class_names)), class_names)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(title)
        threshold = data.max() / 2 if data.max() > 0 else 1
        for i in range(data.shape[0]):
            for j in range(data.shape[1]):
                ax.text(j, i, fmt.format(data[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if data[i, j] > threshold else "black")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig


def reliability_figure(bins: dict[str, list], ece: float, nll: float) -> plt.Figure:
    """Accuracy against mean confidence per bin over the diagonal of perfect calibration; faces per bin below."""
    edges = np.asarray(bins["edges"])
    lefts, widths = edges[:-1], np.diff(edges)
    filled = [i for i, c in enumerate(bins["count"]) if c]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(5.5, 6.5), sharex=True, height_ratios=(3, 1))
    top.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, zorder=3, label="perfectly calibrated")
    top.bar(lefts[filled], [bins["accuracy"][i] for i in filled], widths[filled], align="edge",
            color="C0", edgecolor="white", alpha=0.8, label="accuracy of the faces in the bin")
    top.plot([bins["confidence"][i] for i in filled], [bins["accuracy"][i] for i in filled], "o", ms=4,
             color="C1", zorder=4, label="at the bin's mean confidence")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.set_title(f"Reliability: ECE {ece:.3f} ({len(lefts)} bins), NLL {nll:.3f}")
    top.legend(loc="upper left", fontsize=8)
    top.grid(alpha=0.3)
    bottom.bar(lefts, bins["count"], widths, align="edge", color="C0", edgecolor="white")
    for i in filled:
        bottom.text(lefts[i] + widths[i] / 2, bins["count"][i], str(bins["count"][i]), ha="center", va="bottom",
                    fontsize=6)
    bottom.set_ylim(0, max(max(bins["count"]), 1) * 1.2)  # room for the count above the tallest bar
    bottom.set_xlabel("confidence (top-class probability)")
    bottom.set_ylabel("faces")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    return fig
