"""Factories of a training run: the datamodule, the LightningModule, the callbacks/loggers and the Trainer,
each from the (already settled) training config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from fer.data.datamodule import FERDataModule
from fer.data.shipped_conf import resolved_dict
from fer.training.checkpoint_io import WholeCheckpointIO
from fer.training.finetune import FreezeBackbone
from fer.training.module import FERModule
from fer.training.settings import read_finetune, read_loss


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Build every `_target_` entry of a callbacks/logger group; null entries are switched off."""
    if not group:
        return []
    return [instantiate(c) for c in group.values() if c is not None and "_target_" in c]


def module_settings(cfg: DictConfig) -> dict[str, Any]:
    """FERModule's grouped, plain-valued settings from the model, optim, loss, data.augment and finetune
    groups (the class weighting is the loss group's, applied here from the data)."""
    def group(name: str) -> dict[str, Any]:
        node = OmegaConf.select(cfg, name)
        return resolved_dict(node) if node is not None else {}

    model = group("model")
    model["channels_last"] = bool(model.get("channels_last", False))  # `auto` is resolved before the fit
    return {"model": model, "optim": group("optim"), "loss": group("loss"), "augmentation": group("data.augment"),
            "finetune": group("finetune")}


def build_datamodule(cfg: DictConfig) -> FERDataModule:
    return FERDataModule.from_settings(resolved_dict(cfg.data))


def build_module(cfg: DictConfig, datamodule: FERDataModule) -> FERModule:
    settings = module_settings(cfg)
    balanced = read_loss(settings["loss"]).class_weighting == "balanced"
    weights = datamodule.class_weights().tolist() if balanced else None
    # The class set (and so num_classes) is the data's, in its stable order, stored as plain strings.
    return FERModule(**settings, class_names=[str(c) for c in datamodule.class_names], class_weights=weights,
                     data=datamodule.description())


def finetune_callbacks(cfg: DictConfig) -> list[Any]:
    given = resolved_dict(cfg.finetune) if cfg.get("finetune") else {}
    freeze = read_finetune(given).freeze_epochs
    return [FreezeBackbone(freeze)] if freeze else []


def build_trainer(cfg: DictConfig, callbacks: list[Any], loggers: list[Any]) -> L.Trainer:
    # Checkpoints are renamed into place whole (fer.training.checkpoint_io), never left truncated.
    return L.Trainer(**cfg.trainer, callbacks=callbacks, logger=loggers or False,
                     default_root_dir=str(Path(cfg.paths.output_dir)), plugins=[WholeCheckpointIO()])


def find(callbacks: list[Any], kind: type) -> Any:
    return next((c for c in callbacks if isinstance(c, kind)), None)
