"""A training run's settings: the typed records FERModule is built from (network, optimiser, loss and
fine-tuning, plain values only, which is all a checkpoint stores), each setting checked beside its field
through the one checker, fer.numbers; the old names moved to their new homes (`with_new_names`); and every
group a run reads checked before any work (`check_settings`). A setting not given is the shipped config's
(fer.data.shipped_conf), so FERModule built in Python and `ferkit train` agree; checkpoints of the older
flat layout map onto the same records (`groups_of_flat`). Each step returns a new config; the caller's
stays as it was given."""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from functools import partial
from typing import Any

from omegaconf import DictConfig, open_dict

from fer.data.shipped_conf import has_option, resolved_dict, shipped_group, train_setting
from fer.errors import ConfigError
from fer.numbers import fraction, one_of, positive_number, read_record, unknown_setting, whole_number

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULERS = ("plateau", "onecycle", "cosine", "none")
WEIGHTINGS = ("balanced", "none")

log = logging.getLogger(__name__)


def setting(kind: type | None = None, check: Any = None, optional: bool = False) -> Any:
    """A field of a settings record: its kind and range check (fer.numbers.read_record runs them)."""
    return field(metadata={k: v for k, v in (("kind", kind), ("check", check), ("optional", optional)) if v})


def mapping(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name}={value!r} must be a mapping of the network's arguments")
    return dict(value)


def flag_or_auto(value: Any, name: str) -> bool | str:
    """channels_last may also be `auto`: fer.training.precision decides it from the hardware."""
    if value != "auto" and not isinstance(value, bool):
        raise ConfigError(f"{name}={value!r} must be true or false")
    return value


@dataclass(frozen=True)
class ModelSettings:
    name: str = setting(str)
    kwargs: dict[str, Any] = setting(check=mapping)
    channels_last: bool = setting(check=flag_or_auto)
    pretrained: bool = setting(bool)


@dataclass(frozen=True)
class OptimSettings:
    optimizer: str = setting(str, partial(one_of, choices=OPTIMIZERS))
    lr: float = setting(float, positive_number)
    weight_decay: float = setting(float, partial(positive_number, allow_zero=True))
    decay_norm_and_bias: bool = setting(bool)  # false: tensors under 2 dims get no weight decay
    momentum: float = setting(float, partial(fraction, low=0.0, high=1.0))
    scheduler: str = setting(str, partial(one_of, choices=SCHEDULERS))
    plateau_monitor: str = setting(str)
    plateau_factor: float = setting(float, partial(fraction, low=0.0, high=1.0, low_open=True))
    plateau_patience: int = setting(int, partial(whole_number, minimum=0))
    min_lr: float = setting(float, partial(positive_number, allow_zero=True))
    warmup_pct: float = setting(float, partial(fraction, low=0.0, high=1.0))


@dataclass(frozen=True)
class LossSettings:
    class_weighting: str = setting(str, partial(one_of, choices=WEIGHTINGS))
    label_smoothing: float = setting(float, partial(fraction, low=0.0, high=1.0))


@dataclass(frozen=True)
class FinetuneSettings:
    freeze_epochs: int = setting(int, partial(whole_number, minimum=0))  # backbone frozen for these epochs
    backbone_lr_scale: float = setting(float, partial(fraction, low=0, high=1, low_open=True))


# The keys of the loss group that moved to data.augment: read there, named here as their old home.
MOVED_TO_AUGMENT = ("mixup", "cutmix")


def read_model(given: Mapping[str, Any] | None) -> ModelSettings:
    """A network's arguments not given are its conf/model/<name>.yaml's (none for a model without one)."""
    given = dict(given or {})

    def defaults() -> dict[str, Any]:
        shipped = shipped_group("model")
        name = given.get("name", shipped["name"])
        if isinstance(name, str) and name != shipped["name"]:
            return shipped_group("model", name) if has_option("model", name) else {**shipped, "kwargs": {}}
        return shipped

    return read_record(ModelSettings, given, "model", defaults)


def read_optim(given: Mapping[str, Any] | None) -> OptimSettings:
    return read_record(OptimSettings, given or {}, "optim", lambda: shipped_group("optim"))


def read_loss(given: Mapping[str, Any] | None) -> LossSettings:
    given = {k: v for k, v in (given or {}).items() if k not in MOVED_TO_AUGMENT}
    return read_record(LossSettings, given, "loss", lambda: shipped_group("loss"))


def read_finetune(given: Mapping[str, Any] | None) -> FinetuneSettings:
    return read_record(FinetuneSettings, given or {}, "finetune", lambda: train_setting("finetune"))


def plain(record: Any) -> dict[str, Any]:
    return asdict(record)


# FERModule's flat arguments of before, by the group each now belongs to.
FLAT_MODEL = {"model_kwargs": "kwargs", "channels_last": "channels_last", "pretrained": "pretrained"}
FLAT_GROUPS = {**{f.name: "optim" for f in fields(OptimSettings)}, **{f.name: "loss" for f in fields(LossSettings)},
               "mixup": "augmentation", "cutmix": "augmentation", "backbone_lr_scale": "finetune"}


def groups_of_flat(model: str, flat: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """FERModule's grouped settings from its older flat arguments (`model="cnn4", lr=0.1, mixup=0.2`, as
    checkpoints saved before the groups hold them)."""
    groups: dict[str, dict[str, Any]] = {"model": {"name": model}, "optim": {}, "loss": {}, "augmentation": {},
                                         "finetune": {}}
    for key, value in flat.items():
        if key in FLAT_MODEL:
            groups["model"][FLAT_MODEL[key]] = value if key != "model_kwargs" else dict(value or {})
        elif key in FLAT_GROUPS:
            groups[FLAT_GROUPS[key]][key] = value
        else:
            raise unknown_setting(key, [*FLAT_MODEL, *FLAT_GROUPS])
    return groups


def with_new_names(cfg: DictConfig) -> DictConfig:
    """The settings given under an old name, under their new one: `loss.mixup`/`loss.cutmix` are
    `data.augment.mixup`/`cutmix`, and `budget.ladder` is `budget.sizes`."""
    out = copy.deepcopy(cfg)
    with open_dict(out):
        for key in MOVED_TO_AUGMENT:
            value = out.loss.pop(key, None) if out.get("loss") is not None else None
            if value is not None:
                log.warning("loss.%s is the old name of data.augment.%s; use that", key, key)
                out.data.augment[key] = value
        budget = out.get("budget")
        if budget is not None and budget.get("ladder") is not None:
            log.warning("budget.ladder is the old name of budget.sizes; use that")
            budget.sizes = budget.pop("ladder")
        elif budget is not None:
            budget.pop("ladder", None)
    return out


def check_settings(cfg: DictConfig) -> None:
    """Raise ConfigError naming the first unknown key or malformed value of the groups a run reads before
    it builds anything (the data group is checked as its datamodule is built, fer.data.datamodule; the
    budget group as it is planned, fer.training.budget.plan)."""
    def group(name: str) -> dict[str, Any]:
        return resolved_dict(cfg[name]) if cfg.get(name) is not None else {}

    read_model(group("model"))
    read_optim(group("optim"))
    read_loss(group("loss"))
    finetune = read_finetune(group("finetune"))
    if (finetune.freeze_epochs or finetune.backbone_lr_scale != 1.0) and not cfg.get("init_from"):
        raise ConfigError("finetune.freeze_epochs / finetune.backbone_lr_scale fine-tune a trained network: "
                          "give it with init_from=<checkpoint .ckpt or bundle .pt>")
    trainer = group("trainer")
    for key, least in (("max_epochs", -1), ("min_epochs", 0)):
        whole_number(trainer.get(key), f"trainer.{key}", least, allow_none=True)
    if trainer.get("max_epochs") == 0:
        raise ConfigError("trainer.max_epochs=0 trains nothing; use a whole number >= 1 (or -1: no limit)")
