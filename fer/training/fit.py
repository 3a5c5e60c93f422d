"""The training routine behind scripts/train.py, read top-down as the steps it takes: settle the settings,
plan (precision; a time budget's network, epochs and augmentation), build the pieces, fit, then score the
best checkpoint and write the report. Each step is a call into the module that owns it, and each decision
comes back as a new config (the caller's stays as given)."""

from __future__ import annotations

import logging
import time

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig

from fer.data.datamodule import FERDataModule
from fer.data.shipped_conf import resolved_dict
from fer.training.budget.plan import BudgetPlan, plan_budget, with_plan
from fer.training.build import (
    build_datamodule,
    build_module,
    build_trainer,
    find,
    finetune_callbacks,
    instantiate_group,
)
from fer.training.deadline import DeadlineGuard
from fer.training.distill import Distiller, attach_distiller
from fer.training.final_report import flatten, write_final_report
from fer.training.history import MetricHistory
from fer.training.init_from import init_from
from fer.training.precision import resolve_training, with_hardware
from fer.training.resume import check_resume
from fer.training.settings import check_settings, with_new_names

log = logging.getLogger(__name__)


def train(cfg: DictConfig, command: str = "") -> dict[str, float]:
    """Fit and test as configured. Returns the final metrics, including `cfg.optimized_metric`."""
    called_at = time.time()
    # 1. Settle the settings: old names moved, every group checked, this machine's precision chosen.
    cfg = with_new_names(cfg)
    check_settings(cfg)
    check_resume(cfg)  # before Lightning opens ckpt_path: a bad file is named, never retried unsafely
    seed(cfg)
    torch.set_float32_matmul_precision("high")
    hardware = resolve_training(cfg)  # `auto` precision and channels_last -> this machine's choice
    cfg = with_hardware(cfg, hardware)
    # 2. A time budget decides the network, epochs and augmentation before anything is built.
    plan = plan_budget(cfg, called_at) if cfg.get("budget") else None
    if plan is not None:
        cfg = with_plan(cfg, plan)
        seed(cfg)  # the warm-up drew random numbers
    # 3. Build the pieces from the settled config.
    datamodule = build_datamodule(cfg)
    module = build_module(cfg, datamodule)
    if cfg.get("init_from"):
        init_from(module.net, cfg.init_from, module.hparams["class_names"])
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
        lg.log_hyperparams(flatten({**resolved_dict(cfg), **run_meta}))
    # 4. Fit.
    history = find(callbacks, MetricHistory)
    started = time.perf_counter()
    if cfg.get("train", True):
        trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    # A resumed run reports its whole training time, not only this process's part of it.
    train_time = time.perf_counter() - started + (history.time_before_fit if history else 0.0)
    metrics = fit_metrics(trainer, callbacks)
    # 5. Score the best checkpoint on the test split and write the report. Under DDP every rank gets here;
    # one of them scores the full test split and writes it.
    if cfg.get("test", True) and trainer.is_global_zero:
        report = write_final_report(cfg, module, datamodule, best_checkpoint(callbacks),
                                    list(history.rows) if history else None, train_time, metrics, trainer,
                                    command, {**run_meta, **budget_summary(plan)})
        metrics["test/acc"] = report["accuracy"]
        metrics["test/macro_f1"] = report["macro_f1"]
    return metrics


def seed(cfg: DictConfig) -> None:
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)


def fit_metrics(trainer: L.Trainer, callbacks: list) -> dict[str, float]:
    """The last logged value of every metric, and the best value of the one the checkpoint monitors."""
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
    checkpoint = find(callbacks, ModelCheckpoint)
    if checkpoint is not None and checkpoint.best_model_score is not None:
        metrics[f"best_{checkpoint.monitor}"] = float(checkpoint.best_model_score)
    return metrics


def best_checkpoint(callbacks: list) -> str:
    checkpoint = find(callbacks, ModelCheckpoint)
    return checkpoint.best_model_path if checkpoint is not None else ""


def budget_summary(plan: BudgetPlan | None) -> dict:
    """The plan as it ended: now with the steps run and the last learning rate."""
    return {"budget": plan.summary()} if plan is not None else {}


def label_training_faces(distiller: Distiller, datamodule: FERDataModule, precision: str,
                         device: torch.device) -> None:
    """Offline distillation: the teachers' soft labels for every training face, before the fit starts,
    on the device and in the mixed precision the run trains with."""
    train = datamodule.loaded_splits().train
    datamodule.train_index = True
    started = time.perf_counter()
    autocast = torch.bfloat16 if precision.startswith("bf16") else torch.float16 if precision.startswith("16") else None
    distiller.label_faces(train, datamodule.cache_dir, datamodule.eval_batch_size,
                          autocast=autocast, device=device)
    log.info("offline distillation: soft labels (%s) for %d training faces in %.0f s", distiller.teacher_tta,
             len(train), time.perf_counter() - started)
