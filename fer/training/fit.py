"""The training routine behind scripts/train.py: settle the run's settings, fit, test the best checkpoint
and write the report. The pieces are built by fer.training.build; decisions (precision, a time budget's
plan) are made by their modules and applied by fer.training.settings."""

from __future__ import annotations

import logging
import time

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig, OmegaConf

from fer.data.datamodule import FERDataModule
from fer.training.budget import plan_budget
from fer.training.build import (
    build_datamodule,
    build_module,
    build_trainer,
    find,
    finetune_callbacks,
    instantiate_group,
)
from fer.training.config_checks import check_train_config
from fer.training.deadline import DeadlineGuard
from fer.training.distill import Distiller, attach_distiller
from fer.training.history import MetricHistory
from fer.training.precision import resolve_training
from fer.training.resume import check_resume
from fer.training.settings import with_budget, with_hardware
from fer.training.test_report import flatten, write_test_report
from fer.training.warm_start import warm_start

log = logging.getLogger(__name__)


def train(cfg: DictConfig, command: str = "") -> dict[str, float]:
    """Fit and test as configured. Returns the final metrics, including `cfg.optimized_metric`."""
    called_at = time.time()
    check_train_config(cfg)
    check_resume(cfg)  # before Lightning opens ckpt_path: a bad file is named, never retried unsafely
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    torch.set_float32_matmul_precision("high")
    hardware = resolve_training(cfg)  # `auto` precision and channels_last -> this machine's choice
    cfg = with_hardware(cfg, hardware)
    datamodule = build_datamodule(cfg)
    plan = plan_budget(cfg, datamodule, called_at) if cfg.get("budget") else None
    if plan is not None:
        cfg = with_budget(cfg, plan, datamodule)
        if cfg.get("seed") is not None:
            L.seed_everything(cfg.seed, workers=True)  # the warm-up drew random numbers
    module = build_module(cfg, datamodule)
    if cfg.get("init_from"):
        warm_start(module.net, cfg.init_from, module.hparams.class_names)
    distiller = attach_distiller(module, cfg.get("distill"))
    callbacks = (instantiate_group(cfg.get("callbacks")) + ([DeadlineGuard(plan)] if plan else [])
                 + finetune_callbacks(cfg))
    trainer = build_trainer(cfg, callbacks, instantiate_group(cfg.get("logger")))
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
