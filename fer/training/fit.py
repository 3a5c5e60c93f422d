"""The training routine behind scripts/train.py: fit, test the best checkpoint, write the report."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from fer.checkpoints.loading import LoadedModel, load_model
from fer.data.datamodule import FERDataModule
from fer.errors import ConfigError
from fer.evaluation.evaluate import evaluate_split
from fer.evaluation.report import write_report
from fer.training.budget import plan_budget
from fer.training.config_checks import check_train_config
from fer.training.deadline import DeadlineGuard
from fer.training.distill import Distiller, attach_distiller
from fer.training.history import MetricHistory
from fer.training.module import FERModule
from fer.training.precision import resolve_config
from fer.training.resume import check_resume
from fer.training.warm_start import warm_start

log = logging.getLogger(__name__)

WEIGHTINGS = ("balanced", "none")


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Build every `_target_` entry of a callbacks/logger group; null entries are switched off."""
    if not group:
        return []
    return [instantiate(c) for c in group.values() if c is not None and "_target_" in c]


def module_arguments(cfg: DictConfig) -> dict[str, Any]:
    """FERModule's flat, plain-valued arguments from the model, optim and loss groups."""
    model = OmegaConf.to_container(cfg.model, resolve=True)
    args = {"model": model["name"], "model_kwargs": model.get("kwargs") or {},
            "channels_last": bool(model.get("channels_last", False)),
            "pretrained": bool(model.get("pretrained", False))}
    args.update(OmegaConf.to_container(cfg.optim, resolve=True))
    args.update(OmegaConf.to_container(cfg.loss, resolve=True))
    return args


def build_module(cfg: DictConfig, datamodule: FERDataModule) -> FERModule:
    kwargs = module_arguments(cfg)
    weighting = kwargs.pop("class_weighting", "balanced")
    if weighting not in WEIGHTINGS:
        raise ConfigError(f"loss.class_weighting={weighting!r} is not one of {', '.join(WEIGHTINGS)}")
    weights = datamodule.class_weights().tolist() if weighting == "balanced" else None
    return FERModule(**kwargs, class_names=list(datamodule.class_names), class_weights=weights)


def find(callbacks: list[Any], kind: type) -> Any:
    return next((c for c in callbacks if isinstance(c, kind)), None)


def train(cfg: DictConfig, command: str = "") -> dict[str, float]:
    """Fit and test as configured. Returns the final metrics, including `cfg.optimized_metric`."""
    called_at = time.time()
    check_train_config(cfg)
    check_resume(cfg)  # before Lightning opens ckpt_path: a bad file is named, never retried unsafely
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    torch.set_float32_matmul_precision("high")
    out_dir = Path(cfg.paths.output_dir)
    hardware = resolve_config(cfg)  # `auto` precision and channels_last -> this machine's choice
    datamodule = FERDataModule(**OmegaConf.to_container(cfg.data, resolve=True))
    plan = plan_budget(cfg, datamodule, called_at) if cfg.get("budget") else None
    if plan is not None and plan.augment:
        datamodule.use_augment(plan.augment)
    if plan is not None and cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)  # the warm-up drew random numbers
    module = build_module(cfg, datamodule)
    if cfg.get("init_from"):
        warm_start(module.net, cfg.init_from, module.hparams.class_names)
    distiller = attach_distiller(module, cfg.get("distill"))
    callbacks = instantiate_group(cfg.get("callbacks")) + ([DeadlineGuard(plan)] if plan else [])
    loggers = instantiate_group(cfg.get("logger"))
    trainer = L.Trainer(**cfg.trainer, callbacks=callbacks, logger=loggers or False, default_root_dir=str(out_dir))
    if distiller is not None and distiller.offline:
        # The strategy's root device is the one this process trains on (under DDP, the device listed at its
        # local rank), so the teachers run where the student will.
        label_training_faces(distiller, datamodule, hardware.precision, trainer.strategy.root_device)
    run_meta = {**hardware.summary(), **({"budget": plan.summary()} if plan else {})}
    for lg in trainer.loggers:
        lg.log_hyperparams(flatten({**OmegaConf.to_container(cfg, resolve=True), **run_meta}))

    metrics: dict[str, float] = {}
    history = find(callbacks, MetricHistory)
    started = time.perf_counter()
    if cfg.get("train", True):
        trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    # A resumed run reports its whole training time, not only this process's part of it.
    train_time = time.perf_counter() - started + (history.time_before_fit if history else 0.0)
    metrics.update({k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1})

    rows = list(history.rows) if history else None
    checkpoint = find(callbacks, ModelCheckpoint)
    best_path = checkpoint.best_model_path if checkpoint is not None else ""
    if checkpoint is not None and checkpoint.best_model_score is not None:
        metrics[f"best_{checkpoint.monitor}"] = float(checkpoint.best_model_score)
    # Under DDP every rank gets here; one of them scores the full test split and writes the report.
    if cfg.get("test", True) and trainer.is_global_zero:
        if plan is not None:
            run_meta["budget"] = plan.summary()  # now with the steps run and the last learning rate
        report = write_test_report(cfg, module, datamodule, best_path, rows, train_time, metrics, trainer, command,
                                   run_meta)
        metrics["test/acc"] = report["accuracy"]
        metrics["test/macro_f1"] = report["macro_f1"]
    return metrics


def label_training_faces(distiller: Distiller, datamodule: FERDataModule, precision: str,
                         device: torch.device) -> None:
    """Offline distillation: the teachers' soft labels for every training face, before the fit starts,
    on the device and in the mixed precision the run trains with."""
    datamodule.setup()
    datamodule.train_index = True
    started = time.perf_counter()
    autocast = torch.bfloat16 if precision.startswith("bf16") else torch.float16 if precision.startswith("16") else None
    distiller.label_faces(datamodule.splits.train, datamodule.cache_dir, datamodule.eval_batch_size,
                          autocast=autocast, device=device)
    log.info("offline distillation: soft labels (%s) for %d training faces in %.0f s", distiller.teacher_tta,
             len(datamodule.splits.train), time.perf_counter() - started)


def scored_model(module: FERModule, best_path: str) -> LoadedModel:
    """The best checkpoint, reloaded weights-only exactly as scripts/eval.py loads it; else the final weights."""
    if best_path:
        loaded = load_model(best_path)
        loaded.net.to(module.device)
        return loaded
    h = module.hparams
    return LoadedModel(module.net, list(h.class_names), h.model, dict(h.model_kwargs), path="(final weights)")


def write_test_report(cfg: DictConfig, module: FERModule, datamodule: FERDataModule, best_path: str,
                      rows: list[dict[str, Any]] | None, train_time: float, metrics: dict[str, float],
                      trainer: L.Trainer, command: str, run_meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Score the best checkpoint on the test split through the one evaluation path and write the report."""
    out_dir = Path(cfg.paths.output_dir)
    datamodule.setup()
    splits = datamodule.splits
    probs, targets = evaluate_split([scored_model(module, best_path)], splits.test,
                                    batch_size=datamodule.eval_batch_size)
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
