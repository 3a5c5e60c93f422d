"""Factories of a training run: the datamodule, the LightningModule, the callbacks/loggers and the Trainer,
each from the (already settled) training config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from fer.data.datamodule import FERDataModule
from fer.errors import ConfigError
from fer.training.checkpoint_io import WholeCheckpointIO
from fer.training.finetune import FreezeBackbone
from fer.training.module import FERModule

WEIGHTINGS = ("balanced", "none")
FINETUNE_KEYS = {"freeze_epochs": 0, "backbone_lr_scale": 1.0}


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


def build_datamodule(cfg: DictConfig) -> FERDataModule:
    return FERDataModule(**OmegaConf.to_container(cfg.data, resolve=True))


def build_module(cfg: DictConfig, datamodule: FERDataModule) -> FERModule:
    kwargs = module_arguments(cfg)
    weighting = kwargs.pop("class_weighting", "balanced")
    if weighting not in WEIGHTINGS:
        raise ConfigError(f"loss.class_weighting={weighting!r} is not one of {', '.join(WEIGHTINGS)}")
    check_soft_targets(datamodule, kwargs)
    weights = datamodule.class_weights().tolist() if weighting == "balanced" else None
    # The class set (and so num_classes) is the data's, in its stable order, stored as plain strings.
    return FERModule(**kwargs, backbone_lr_scale=finetune_settings(cfg)["backbone_lr_scale"], class_names=[str(c) for c in datamodule.class_names],
                     class_weights=weights, data=datamodule.description())


def check_soft_targets(datamodule: FERDataModule, kwargs: dict[str, Any]) -> None:
    """Mixup and cutmix mix class indices; FER+'s crossentropy mode trains on distributions instead."""
    if datamodule.dataset == "ferplus" and datamodule.label_mode == "crossentropy":
        mixing = [k for k in ("mixup", "cutmix") if kwargs.get(k, 0) > 0]
        if mixing:
            raise ConfigError(f"loss.{mixing[0]} mixes class indices, but data.label_mode=crossentropy trains on "
                              "vote distributions; set loss.mixup=0 loss.cutmix=0, or use data.label_mode="
                              "probability (a class drawn from the votes each epoch) or majority")


def finetune_settings(cfg: DictConfig) -> dict[str, Any]:
    """`finetune.freeze_epochs` (whole number >= 0) and `finetune.backbone_lr_scale` (0 < scale <= 1)."""
    given = OmegaConf.to_container(cfg.finetune, resolve=True) if cfg.get("finetune") else {}
    unknown = [k for k in given if k not in FINETUNE_KEYS]
    if unknown:
        raise ConfigError(f"finetune has no setting {', '.join(unknown)}; valid: {', '.join(FINETUNE_KEYS)}")
    out = {**FINETUNE_KEYS, **{k: v for k, v in given.items() if v is not None}}
    freeze, scale = out["freeze_epochs"], out["backbone_lr_scale"]
    if isinstance(freeze, bool) or not isinstance(freeze, int) or freeze < 0:
        raise ConfigError(f"finetune.freeze_epochs={freeze!r} must be a whole number >= 0")
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 < scale <= 1:
        raise ConfigError(f"finetune.backbone_lr_scale={scale!r} must be a number in (0, 1]")
    if (freeze or scale != 1.0) and not cfg.get("init_from"):
        raise ConfigError("finetune.freeze_epochs / finetune.backbone_lr_scale fine-tune a trained network: "
                          "give it with init_from=<checkpoint .ckpt or bundle .pt>")
    return {"freeze_epochs": freeze, "backbone_lr_scale": float(scale)}


def finetune_callbacks(cfg: DictConfig) -> list[Any]:
    freeze = finetune_settings(cfg)["freeze_epochs"]
    return [FreezeBackbone(freeze)] if freeze else []


def build_trainer(cfg: DictConfig, callbacks: list[Any], loggers: list[Any]) -> L.Trainer:
    # Checkpoints are renamed into place whole (fer.training.checkpoint_io), never left truncated.
    return L.Trainer(**cfg.trainer, callbacks=callbacks, logger=loggers or False,
                     default_root_dir=str(Path(cfg.paths.output_dir)), plugins=[WholeCheckpointIO()])


def find(callbacks: list[Any], kind: type) -> Any:
    return next((c for c in callbacks if isinstance(c, kind)), None)
