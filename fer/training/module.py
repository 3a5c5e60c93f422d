"""FERModule: the LightningModule that trains, validates and tests any registered model.

Its hyperparameters are its settings by group (model, optim, loss, augmentation, finetune) as plain values
only (names, numbers, lists), so `FERModule.load_from_checkpoint(path)` rebuilds it without Hydra.

Targets: a training batch's labels are class indices, or (FER+'s label_mode=crossentropy) a float
(N, classes) distribution per face; the loss is then the cross-entropy against the whole distribution,
-sum_k t_k log softmax(logits)_k (with the class weights w_k when balanced), and accuracy counts its most
voted class. Label smoothing applies to both. Mixup and cutmix (data.augment, built by fer.data.augment) mix
either kind of target with the weights they mixed the faces with.
Checkpoints of the older flat hyperparameters (`model`, `model_kwargs`, `lr`, ... side by side) load too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import Any, Literal, Protocol

import lightning as L
import torch
import torch.nn.functional as F
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from fer.constants import CLASSES
from fer.data.augment import AugmentConfig, build_mix
from fer.errors import ConfigError
from fer.models import create_model, models_accepting
from fer.training.distributed import finite_on_all_ranks
from fer.training.finetune import split_parameters
from fer.training.settings import (
    FinetuneSettings,
    LossSettings,
    ModelSettings,
    OptimSettings,
    groups_of_flat,
    plain,
    read_finetune,
    read_loss,
    read_model,
    read_optim,
)

log = logging.getLogger(__name__)

STAGES = ("train", "val", "test")


@dataclass(frozen=True)
class ModuleSettings:
    """A FERModule's settings, by group."""

    model: ModelSettings
    optim: OptimSettings
    loss: LossSettings
    augmentation: AugmentConfig
    finetune: FinetuneSettings

    def plain(self) -> dict[str, dict[str, Any]]:
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}


class DistillationLoss(Protocol):
    """What a training step asks of the distiller attached to it (fer.training.distill.Distiller)."""

    def loss(self, module: torch.nn.Module, x: torch.Tensor, logits: torch.Tensor, ce: torch.Tensor,
             index: torch.Tensor | None = None, mix_weights: torch.Tensor | None = None) -> torch.Tensor: ...


def _key(stage: str) -> str:
    # ModuleDict keys may not shadow nn.Module attributes such as `train`.
    return f"{stage}_"


class FERModule(L.LightningModule):
    class_weight: torch.Tensor | None  # a buffer, registered in __init__

    def __init__(
        self,
        model: dict[str, Any] | str | None = None,
        optim: dict[str, Any] | None = None,
        loss: dict[str, Any] | None = None,
        augmentation: dict[str, Any] | None = None,
        finetune: dict[str, Any] | None = None,
        class_names: list[str] | tuple[str, ...] = CLASSES,
        class_weights: list[float] | None = None,
        data: str | None = None,
        **flat: Any,
    ):
        """The settings come in the config's groups (fer.training.settings): `model` (name, kwargs,
        channels_last, pretrained), `optim`, `loss`, `augmentation` (data.augment: mixup and cutmix are
        applied here) and `finetune` (backbone_lr_scale < 1 trains every layer but the classifier at that
        fraction of optim.lr); a setting not given is the shipped config's. `data` says what it is trained
        on (FERDataModule.description): kept in its checkpoints, and from there in exported models.

        The older flat arguments (`model="cnn4", model_kwargs=..., lr=..., mixup=...`), which checkpoints
        saved before the groups hold, are still taken (fer.training.settings.groups_of_flat)."""
        super().__init__()
        if isinstance(model, str) or flat:
            if flat and not isinstance(model, str | None):
                raise ConfigError(f"FERModule takes grouped settings or the older flat ones, not both: {sorted(flat)}")
            groups = groups_of_flat(model if isinstance(model, str) and model else read_model(None).name, flat)
            model, optim, loss, augmentation, finetune = (
                {**groups[g], **(given or {})} for g, given in
                (("model", None), ("optim", optim), ("loss", loss), ("augmentation", augmentation),
                 ("finetune", finetune)))
        self.settings = ModuleSettings(read_model(model), read_optim(optim), read_loss(loss),
                                       AugmentConfig.from_dict(dict(augmentation or {})), read_finetune(finetune))
        class_names = [str(c) for c in class_names]
        class_weights = None if class_weights is None else [float(w) for w in class_weights]
        # Plain dicts, lists and numbers only, so a checkpoint loads without this code's classes.
        self.save_hyperparameters({**self.settings.plain(), "class_names": class_names,
                                   "class_weights": class_weights, "data": data})
        n = len(class_names)
        spec = self.settings.model
        # Only models with published weights take `pretrained`; the rest are not asked to.
        if spec.pretrained and spec.name not in models_accepting("pretrained"):
            raise ConfigError(f"model {spec.name!r} has no pretrained weights; models with them: "
                              f"{', '.join(models_accepting('pretrained'))}")
        extra = {"pretrained": True} if spec.pretrained else {}
        self.net = create_model(spec.name, num_classes=n, **spec.kwargs, **extra)
        if spec.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        weight = torch.tensor(class_weights) if class_weights is not None else None
        self.register_buffer("class_weight", weight, persistent=False)
        self.mix = build_mix(self.settings.augmentation)
        self.metrics = torch.nn.ModuleDict(
            {
                _key(s): MetricCollection(
                    {"acc": MulticlassAccuracy(n, average="micro"), "f1": MulticlassF1Score(n, average="macro")},
                    prefix=f"{s}/",
                )
                for s in STAGES
            }
        )
        # Set by fer.training.distill.attach_distiller; a plain object, so its teachers are never saved.
        self.distiller: DistillationLoss | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.settings.model.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.net(x)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(
            logits.float(), target, weight=self.class_weight, label_smoothing=self.settings.loss.label_smoothing
        )

    def training_step(self, batch, batch_idx):
        x, y, *index = batch  # the index of each face comes along for offline distillation
        target, weights = y, None
        if self.mix is not None:
            x, weights = self.mix(x)  # (B, B): how much of each face is in each mixed face
            target = weights @ (y.float() if y.ndim == 2 else F.one_hot(y, len(self.hparams["class_names"])).float())
        logits = self(x)
        loss = self.loss(logits, target)
        if self.distiller is not None:
            loss = self.distiller.loss(self, x, logits, loss, index[0] if index else None, weights)
        if not finite_on_all_ranks(self._trainer, loss):  # _trainer: None when called outside a fit
            # Skip the update and stop: the best checkpoint so far stays intact.
            log.error("non-finite training loss (%s) at epoch %d step %d; stopping the run and keeping the best "
                      "checkpoint. Lower optim.lr or check the data.", loss.item(), self.current_epoch,
                      self.global_step)
            self.trainer.should_stop = True
            return None
        # Soft targets (N, classes): accuracy counts each face's most voted class.
        self._update_metrics("train", logits, y.argmax(1) if y.ndim == 2 else y, loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self._update_metrics("val", logits, y, self.loss(logits, y))

    def test_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self._update_metrics("test", logits, y, self.loss(logits, y))

    def predict_step(self, batch, batch_idx):
        x = batch[0] if isinstance(batch, list | tuple) else batch
        return self(x).float().softmax(1)

    def _update_metrics(self, stage: str, logits: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> None:
        preds = logits.detach().argmax(1)
        metrics = self.metrics[_key(stage)]
        assert isinstance(metrics, MetricCollection)  # what __init__ put in the ModuleDict
        metrics.update(preds, y)
        on_step = stage == "train"
        # Validation and test losses are averaged over every rank's faces (torchmetrics syncs acc/f1 itself);
        # the training loss stays per rank, which spares an all-reduce on every step.
        self.log(f"{stage}/loss", loss, on_step=on_step, on_epoch=True, prog_bar=True, batch_size=len(y),
                 sync_dist=not on_step)
        self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=stage != "train",
                      batch_size=len(y))

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # The saved weights supersede the pretrained start: loading must not download anything.
        hparams = checkpoint["hyper_parameters"]
        hparams["model"] = {**hparams["model"], "pretrained": False}

    def configure_optimizers(self):
        h = self.settings.optim
        params = self._parameter_groups()
        opt: torch.optim.Optimizer
        if h.optimizer == "adam":
            opt = torch.optim.Adam(params, lr=h.lr, weight_decay=h.weight_decay)
        elif h.optimizer == "adamw":
            opt = torch.optim.AdamW(params, lr=h.lr, weight_decay=h.weight_decay)
        else:
            opt = torch.optim.SGD(params, lr=h.lr, momentum=h.momentum, weight_decay=h.weight_decay, nesterov=True)
        if h.scheduler == "none":
            return opt
        if h.scheduler == "plateau":
            mode: Literal["min", "max"] = "min" if h.plateau_monitor.endswith("loss") else "max"
            plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                opt, mode=mode, factor=h.plateau_factor, patience=h.plateau_patience, min_lr=h.min_lr
            )
            return {"optimizer": opt, "lr_scheduler": {"scheduler": plateau, "monitor": h.plateau_monitor}}
        total = self.trainer.estimated_stepping_batches
        if not isinstance(total, int):  # Lightning's infinity, for a run with neither max_epochs nor max_steps
            raise ConfigError(f"optim.scheduler={h.scheduler} plans a fixed number of steps; give "
                              "trainer.max_epochs or trainer.max_steps")
        sched: torch.optim.lr_scheduler.LRScheduler
        if h.scheduler == "onecycle":
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g["lr"] for g in opt.param_groups],
                                                        total_steps=total, pct_start=h.warmup_pct)
        else:
            warm = max(1, int(total * h.warmup_pct))
            sched = torch.optim.lr_scheduler.SequentialLR(
                opt,
                [torch.optim.lr_scheduler.LinearLR(opt, 1e-3, 1.0, warm),
                 torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, total - warm), eta_min=h.min_lr)],
                milestones=[warm],
            )
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def _parameter_groups(self) -> list[dict[str, Any]]:
        """The optimizer's groups: with backbone_lr_scale != 1, the backbone at its own learning rate; with
        decay_norm_and_bias false, each of those split again into decayed weights and undecayed rest."""
        h, scale = self.settings.optim, self.settings.finetune.backbone_lr_scale
        if scale == 1.0:
            parts = [(list(self.parameters()), h.lr)]
        else:
            backbone, head = split_parameters(self.net)
            parts = [(backbone, h.lr * scale), (head, h.lr)]
        return [group for params, lr in parts
                for group in decay_groups(params, lr, h.weight_decay, h.decay_norm_and_bias)]


def decay_groups(params: list[torch.nn.Parameter], lr: float, weight_decay: float,
                 decay_norm_and_bias: bool) -> list[dict[str, Any]]:
    """Parameter groups at one learning rate. Decay is meant to keep weight matrices and kernels small; a bias
    or a norm's scale only shifts or rescales a feature, the usual reason to exempt them, and tensors with
    fewer than 2 dimensions are exactly those. Empty groups are left out."""
    if decay_norm_and_bias:
        split = [(params, weight_decay)]
    else:
        split = [([p for p in params if p.ndim >= 2], weight_decay), ([p for p in params if p.ndim < 2], 0.0)]
    return [{"params": kept, "lr": lr, "weight_decay": decay} for kept, decay in split if kept]
