"""Knowledge distillation: train any registered model (the student) towards the softened predictions
of one or more trained checkpoints (the teachers).

    loss = (1 - alpha) * CE(student, targets) + alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))

CE is the module's own loss (label smoothing, class weights, mixup/cutmix targets). The teachers see
the very batch the student sees, augmented and mixed; with `teacher_tta` each teacher's softened
probabilities are averaged over its test-time-augmentation views (fer.evaluation.tta), then over the teachers.

The teachers are kept out of the student: they are held in a plain list (no registered submodule),
so they are neither trained, nor moved by Lightning, nor saved into the student's checkpoint, and
nothing about them enters the hyperparameters. A student checkpoint therefore loads with plain
`FERModule.load_from_checkpoint(path, weights_only=True)` or `load_model(path)`, teachers absent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from fer.checkpoints.loading import load_model
from fer.errors import CheckpointError, ConfigError
from fer.evaluation.tta import TTA_MODES, predict_probs

log = logging.getLogger(__name__)


class Distiller:
    """The teachers and the distillation term; attached to a FERModule as `module.distiller`."""

    def __init__(self, teachers: Sequence[nn.Module], alpha: float = 0.5, temperature: float = 4.0,
                 teacher_tta: str = "none"):
        if not teachers:
            raise ConfigError("distillation needs at least one teacher: set distill.teachers=[path.ckpt]")
        if not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"distill.alpha={alpha} must lie in [0, 1]")
        if temperature <= 0:
            raise ConfigError(f"distill.temperature={temperature} must be positive")
        if teacher_tta not in TTA_MODES:
            raise ConfigError(f"distill.teacher_tta={teacher_tta!r} is not one of {', '.join(TTA_MODES)}")
        self.teachers = [t.eval().requires_grad_(False) for t in teachers]  # a list: not a submodule
        self.alpha, self.temperature, self.teacher_tta = float(alpha), float(temperature), teacher_tta
        self._device: torch.device | None = None

    def _to(self, device: torch.device) -> None:
        if device != self._device:
            fmt = torch.channels_last if device.type == "cuda" else torch.contiguous_format
            self.teachers = [t.to(device, memory_format=fmt).eval() for t in self.teachers]
            self._device = device

    def teacher_probs(self, x: torch.Tensor) -> torch.Tensor:
        """Mean over teachers (and their TTA views) of softmax(teacher logits / T); no gradient."""
        self._to(x.device)
        t = self.temperature
        fmt = torch.channels_last if x.is_cuda else torch.contiguous_format

        def softened(net: nn.Module):
            return lambda v: net(v.contiguous(memory_format=fmt)) / t

        probs = torch.stack([predict_probs(softened(net), x, self.teacher_tta) for net in self.teachers]).mean(0)
        return probs.clone()  # predict_probs runs in inference mode; autograd may not save such tensors

    def kd_loss(self, student_logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """T^2 * KL(teacher || student) on temperature-softened distributions, batch mean."""
        t = self.temperature
        log_p = F.log_softmax(student_logits.float() / t, dim=1)
        return F.kl_div(log_p, self.teacher_probs(x), reduction="batchmean") * t * t

    def loss(self, module: nn.Module, x: torch.Tensor, logits: torch.Tensor, ce: torch.Tensor) -> torch.Tensor:
        """Combine the module's CE with the distillation term for the batch `x` the student saw."""
        if self.alpha == 0.0:
            return ce
        kd = self.kd_loss(logits, x)
        if hasattr(module, "log"):
            module.log("train/kd", kd.detach(), on_step=False, on_epoch=True, batch_size=len(x))
        return (1.0 - self.alpha) * ce + self.alpha * kd


def load_teachers(paths: Sequence[str | Path], class_names: Sequence[str]) -> list[nn.Module]:
    """Networks of .ckpt / bundle files (weights-only), checked to predict the student's classes."""
    nets = []
    for path in paths:
        loaded = load_model(path)  # CheckpointError with a clear message on any problem
        if list(loaded.class_names) != list(class_names):
            raise CheckpointError(f"teacher {path} predicts {loaded.class_names}, the student {list(class_names)}")
        log.info("distillation teacher: %s (%s)", path, loaded.model)
        nets.append(loaded.net)
    return nets


def build_distiller(cfg: Mapping[str, Any] | None, class_names: Sequence[str]) -> Distiller | None:
    """A Distiller from the `distill` config group, or None when it names no teachers."""
    if not cfg:
        return None
    teachers = cfg.get("teachers") or []
    if isinstance(teachers, str | Path):
        teachers = [teachers]
    teachers = [str(p) for p in teachers]
    if not teachers:  # the default: plain training
        return None
    return Distiller(load_teachers(teachers, class_names), alpha=float(cfg.get("alpha", 0.5)),
                     temperature=float(cfg.get("temperature", 4.0)),
                     teacher_tta=str(cfg.get("teacher_tta", "none")))


def attach_distiller(module: nn.Module, cfg: Mapping[str, Any] | None) -> Distiller | None:
    """Set `module.distiller` from the config (None switches distillation off)."""
    distiller = build_distiller(cfg, module.hparams.class_names)
    module.distiller = distiller
    return distiller
