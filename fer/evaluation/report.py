"""Write report.md, report.json, confusion_matrix.png, reliability.png and curves.png into a run directory."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch

from fer.evaluation.calibration import calibration_summary
from fer.evaluation.classification import classification_table, markdown_table
from fer.evaluation.figures import confusion_figure, curves_figure, reliability_figure
from fer.outputs import save_atomically, write_atomically

log = logging.getLogger(__name__)


def write_report(
    out_dir: str | Path,
    probs: torch.Tensor,
    targets: torch.Tensor,
    class_names: Sequence[str],
    history: Sequence[dict[str, Any]] | None = None,
    meta: dict[str, Any] | None = None,
    tb_writer=None,
) -> dict[str, Any]:
    """Returns the report dict; figures also go to a TensorBoard SummaryWriter when given."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = classification_table(probs, targets, class_names)
    if table["absent_classes"]:
        log.warning("%s", absent_note(table))
    report = {**(meta or {}), **table, **calibration_summary(probs, targets)}
    write_atomically(out / "report.json", json.dumps(report, indent=1).encode())
    text = render_markdown(report, history)
    if (out / "class_activation.png").is_file():  # written first by the training report (torch models only)
        text += "\n![where the model looks: Grad-CAM of test faces per class](class_activation.png)\n"
    write_atomically(out / "report.md", text.encode())
    figures = {"confusion_matrix": confusion_figure(table["confusion_matrix"], class_names)}
    if report["reliability"] is not None:
        figures["reliability"] = reliability_figure(report["reliability"], report["ece"], report["nll"])
    if history:
        figures["curves"] = curves_figure(history)
    for name, fig in figures.items():
        save_atomically(out / f"{name}.png", partial(fig.savefig, dpi=110))
        if tb_writer is not None:
            tb_writer.add_figure(f"report/{name}", fig)
        plt.close(fig)
    return report


def absent_note(table: dict[str, Any]) -> str:
    absent = table["absent_classes"]
    present = len(table["classes"]) - len(absent)
    return (f"no face of {', '.join(absent)} in the labels: macro F1, precision and recall average the "
            f"{present} classes present")


def calibration_lines(report: dict[str, Any]) -> list[str]:
    if report.get("ece") is None:
        return []
    return [f"- **expected calibration error** ({report['calibration_bins']} bins): {report['ece']:.4f}",
            f"- **negative log-likelihood** (mean, true class): {report['nll']:.4f}"]


def render_markdown(report: dict[str, Any], history: Sequence[dict[str, Any]] | None) -> str:
    lines = ["# FER-2013 evaluation report", ""]
    for key in ("checkpoint", "split", "tta", "command", "train_command", "epochs", "train_time_s", "device",
                "cpu_capability", "precision", "precision_reason", "channels_last", "budget"):
        if report.get(key) not in (None, ""):
            lines.append(f"- **{key}**: `{report[key]}`")
    for note in report.get("data_notes") or []:
        lines.append(f"- **data note**: {note}")
    if report.get("absent_classes"):
        lines.append(f"- **absent classes**: {absent_note(report)}")
    lines += [
        f"- **accuracy**: {report['accuracy']:.4f}",
        f"- **macro F1**: {report['macro_f1']:.4f}",
        *calibration_lines(report),
        "",
        markdown_table(report),
        "",
    ]
    if history:
        best = max((r for r in history if "val/acc" in r), key=lambda r: r["val/acc"], default=None)
        lines.append(f"Trained {len(history)} epoch(s)"
                     + (f"; best val accuracy {best['val/acc']:.4f} at epoch {best['epoch'] + 1}." if best else "."))
        lines.append("")
        lines.append("![curves](curves.png)")
    lines.append("![confusion matrix](confusion_matrix.png)")
    if report.get("reliability") is not None:
        lines.append("![reliability diagram: accuracy against confidence](reliability.png)")
    return "\n".join(lines) + "\n"
