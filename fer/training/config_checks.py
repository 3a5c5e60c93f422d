"""Checks of the training config where it enters, so a bad value is named instead of exploding later.

Hydra passes command-line values as it parsed them: `trainer.max_epochs=abc` arrives as the string
"abc", and `+model.lrr=0.1` adds a key nothing reads. Both are refused here with the valid choices.
"""

from __future__ import annotations

import inspect
from typing import Any

from omegaconf import DictConfig, OmegaConf

from fer.data.datamodule import FERDataModule
from fer.errors import ConfigError
from fer.numbers import fraction, positive_number, unknown_setting, whole_number
from fer.training.module import FERModule

MODEL_KEYS = ("name", "kwargs", "channels_last", "pretrained")
# FERModule arguments that come from the model group or from the data, not from optim/loss.
NOT_OPTIM_OR_LOSS = {"model", "model_kwargs", "class_names", "class_weights", "channels_last", "pretrained",
                     "backbone_lr_scale", "data"}  # backbone_lr_scale: the finetune group's
# Keys of the optim/loss groups that fit.py reads itself instead of passing them to FERModule.
READ_BY_FIT = {"class_weighting"}


def module_defaults() -> dict[str, Any]:
    params = inspect.signature(FERModule.__init__).parameters
    return {k: p.default for k, p in params.items() if k != "self" and k not in NOT_OPTIM_OR_LOSS}


def check_value_type(name: str, value: Any, default: Any) -> None:
    """A value must have the kind of its default: a number for a number, a flag for a flag."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
        kind = "true or false"
    elif isinstance(default, int | float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        kind = "a number"
    elif isinstance(default, str):
        ok = isinstance(value, str)
        kind = "a word"
    else:
        return
    if not ok:
        raise ConfigError(f"{name}={value!r} must be {kind} (default {default!r})")


def check_group_keys(group: str, keys: list[str], valid: list[str]) -> None:
    for key in keys:
        if key not in valid:
            raise unknown_setting(f"{group}.{key}", valid)


# Ranges of the optim/loss numbers (checked after their types): a negative or NaN learning rate would
# otherwise train silently into NaN losses, a momentum of 2 diverge, a patience of -1 raise deep in torch.
POSITIVE = ("lr",)
NOT_NEGATIVE = ("weight_decay", "min_lr", "mixup", "cutmix")
FRACTIONS = {"momentum": (0.0, 1.0, False), "plateau_factor": (0.0, 1.0, True), "warmup_pct": (0.0, 1.0, False),
             "label_smoothing": (0.0, 1.0, False)}
COUNTS = {"plateau_patience": 0}


def check_range(name: str, key: str, value: Any) -> None:
    if key in POSITIVE:
        positive_number(value, name)
    elif key in NOT_NEGATIVE:
        positive_number(value, name, allow_zero=True)
    elif key in FRACTIONS:
        low, high, low_open = FRACTIONS[key]
        fraction(value, name, low, high, low_open=low_open)
    elif key in COUNTS:
        whole_number(value, name, COUNTS[key])


def check_train_config(cfg: DictConfig) -> None:
    """Raise ConfigError naming the first unknown key or malformed value of the training config."""
    model = OmegaConf.to_container(cfg.model, resolve=True)
    check_group_keys("model", list(model), list(MODEL_KEYS))
    if not isinstance(model.get("kwargs") or {}, dict):
        raise ConfigError(f"model.kwargs={model['kwargs']!r} must be a mapping of the network's arguments")
    for key in ("channels_last", "pretrained"):
        # channels_last may also be `auto`: fer.training.precision decides from the hardware
        if key in model and not (key == "channels_last" and model[key] == "auto"):
            check_value_type(f"model.{key}", model[key], False)

    defaults = module_defaults()
    valid = [*defaults, *READ_BY_FIT]
    for group in ("optim", "loss"):
        values = OmegaConf.to_container(cfg[group], resolve=True) if cfg.get(group) is not None else {}
        check_group_keys(group, list(values), valid)
        for key, value in values.items():
            if key in defaults:
                check_value_type(f"{group}.{key}", value, defaults[key])
                check_range(f"{group}.{key}", key, value)

    data = OmegaConf.to_container(cfg.data, resolve=True)
    check_group_keys("data", list(data), [k for k in inspect.signature(FERDataModule.__init__).parameters
                                          if k != "self"])
    for key in ("batch_size", "eval_batch_size"):
        if key in data:
            whole_number(data[key], f"data.{key}", 1)
    whole_number(data.get("num_workers", 0), "data.num_workers", 0)
    for key in ("train_subset", "eval_subset"):
        whole_number(data.get(key), f"data.{key}", 1, allow_none=True)

    trainer = OmegaConf.to_container(cfg.trainer, resolve=True)
    for key, least in (("max_epochs", -1), ("min_epochs", 0)):
        value = trainer.get(key)
        if value is not None:
            whole_number(value, f"trainer.{key}", least)
    if trainer.get("max_epochs") == 0:
        raise ConfigError("trainer.max_epochs=0 trains nothing; use a whole number >= 1 (or -1: no limit)")
