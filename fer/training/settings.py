"""The one place a training run's decisions enter its settings: the precision and memory layout chosen for
this machine (fer.training.precision) and a time budget's plan (fer.training.budget). Each returns a new
config; the caller's stays as it was given."""

from __future__ import annotations

import copy

from omegaconf import DictConfig, open_dict

from fer.data.datamodule import FERDataModule
from fer.training.budget import BudgetPlan
from fer.training.precision import Resolved


def with_hardware(cfg: DictConfig, resolved: Resolved) -> DictConfig:
    """`trainer.precision` and `model.channels_last` as resolved, `auto` no more."""
    out = copy.deepcopy(cfg)
    with open_dict(out):
        out.trainer.precision = resolved.precision
        out.model.channels_last = resolved.channels_last
    return out


def with_budget(cfg: DictConfig, plan: BudgetPlan, datamodule: FERDataModule) -> DictConfig:
    """The planned model size, epochs and steps; the chosen rung's augmentation, in the config and in the
    datamodule the warm-up already loaded (it trains with it from its next training loader on)."""
    out = copy.deepcopy(cfg)
    with open_dict(out):
        out.model.kwargs = plan.model_kwargs
        if plan.augment:
            out.data.augment = plan.augment
        out.trainer.max_epochs = plan.epochs
        out.trainer.min_epochs = 0  # lets DeadlineGuard stop inside the first epoch
        out.trainer.num_sanity_val_steps = 0  # measured already; its time is better spent training
        if plan.train_batches is not None:
            out.trainer.limit_train_batches = plan.train_batches
        if plan.max_steps is not None:
            out.trainer.max_steps = plan.max_steps  # the one-cycle is sized to it (estimated_stepping_batches)
    if plan.augment:
        datamodule.use_augment(plan.augment)
    return out
