"""The end of a training run: score the best checkpoint on the test split and write the final report."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig

from fer.checkpoints.loading import LoadedModel, load_model
from fer.data.datamodule import FERDataModule
from fer.evaluation.activation_report import write_class_activation
from fer.evaluation.report import write_report
from fer.evaluation.scoring import evaluate_split
from fer.training.module import FERModule

log = logging.getLogger(__name__)


def scored_model(module: FERModule, best_path: str) -> LoadedModel:
    """The best checkpoint, reloaded weights-only exactly as scripts/eval.py loads it; else the final weights."""
    if best_path:
        loaded = load_model(best_path)
        loaded.net.to(module.device)
        return loaded
    spec = module.settings.model
    return LoadedModel(module.net, list(module.hparams["class_names"]), spec.name, dict(spec.kwargs),
                       path="(final weights)")


def write_final_report(cfg: DictConfig, module: FERModule, datamodule: FERDataModule, best_path: str,
                      rows: list[dict[str, Any]] | None, train_time: float, metrics: dict[str, float],
                      trainer: L.Trainer, command: str, run_meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Score the best checkpoint on the test split through the one evaluation path and write the report."""
    out_dir = Path(cfg.paths.output_dir)
    splits = datamodule.loaded_splits()
    model = scored_model(module, best_path)
    probs, targets = evaluate_split([model], splits.test, batch_size=datamodule.eval_batch_size,
                                    data_classes=datamodule.class_names)
    write_class_activation(out_dir, model.net, splits.test, datamodule.class_names)  # report.md links it
    tb = next((lg.experiment for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)), None)
    report = write_report(
        out_dir, probs, targets, datamodule.class_names, history=rows,
        meta={
            "checkpoint": best_path or "(final weights)",
            "split": "test",
            "tta": "none",
            "data": splits.source,
            "data_notes": splits.notes,
            "epochs": len(rows) if rows else trainer.current_epoch,
            "train_time_s": round(train_time, 1),
            "device": str(module.device),
            "command": command,
            "best_val_acc": metrics.get("best_val/acc"),
            **(run_meta or {}),
        },
        tb_writer=tb,
    )
    for lg in trainer.loggers:
        lg.log_metrics({"hp/test_acc": report["accuracy"], "hp/best_val_acc": metrics.get("best_val/acc", 0.0)})
    log.info("report written to %s (test accuracy %.4f)", out_dir, report["accuracy"])
    return report


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config -> {'a/b': value}, with lists and None as strings TensorBoard accepts."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "/"))
        else:
            out[key] = v if isinstance(v, int | float | str | bool) else str(v)
    return out
