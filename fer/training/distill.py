"""Knowledge distillation: train any registered model (the student) towards the softened predictions
of one or more trained checkpoints (the teachers).

    loss = (1 - alpha) * CE(student, targets) + alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))

CE is the module's own loss (label smoothing, class weights, mixup/cutmix targets). The teachers see
the very batch the student sees, augmented and mixed; with `teacher_tta` each teacher's softened
probabilities are averaged over its test-time-augmentation views (fer.evaluation.scoring), then over the teachers.

With `offline` the teachers instead score every training face once, unaugmented, before the fit (soft
labels, cached beside the data) and cost nothing per step. That is what makes an expensive teacher
affordable on a CPU: twelve-crop (12 views) of a 0.5 GFLOP net would cost several student steps per
batch online. The student's augmentation should then be mild (flips, small shifts), which a twelve-crop
average is itself nearly invariant to; with mixup or cutmix the stored labels of a batch's faces are
mixed with the weights its faces were mixed with.

The teachers are kept out of the student: they are held in a plain list (no registered submodule),
so they are neither trained, nor moved by Lightning, nor saved into the student's checkpoint, and
nothing about them enters the hyperparameters. A student checkpoint therefore loads with plain
`FERModule.load_from_checkpoint(path, weights_only=True)` or `load_model(path)`, teachers absent.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from fer.checkpoints.loading import load_model
from fer.data.preprocess import model_input_batches
from fer.data.splits import LabeledImages
from fer.errors import CheckpointError, ConfigError
from fer.evaluation.scoring import TTA_ALIASES, predict_probs, tta_mode

if TYPE_CHECKING:
    from fer.training.module import FERModule

log = logging.getLogger(__name__)
# Soft-label caches written before a mode was renamed are keyed by its old name; keying by it still keeps them valid.
CACHE_KEY_NAMES = {new: old for old, new in TTA_ALIASES.items()}


class Distiller:
    """The teachers and the distillation term; attached to a FERModule as `module.distiller`."""

    def __init__(self, teachers: Sequence[nn.Module], alpha: float = 0.5, temperature: float = 4.0,
                 teacher_tta: str = "none", offline: bool = False, fingerprint: str = ""):
        if not teachers:
            raise ConfigError("distillation needs at least one teacher: set distill.teachers=[path.ckpt]")
        if not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"distill.alpha={alpha} must lie in [0, 1]")
        if temperature <= 0:
            raise ConfigError(f"distill.temperature={temperature} must be positive")
        teacher_tta = tta_mode(teacher_tta, "distill.teacher_tta")
        self.teachers = [t.eval().requires_grad_(False) for t in teachers]  # a list: not a submodule
        self.alpha, self.temperature, self.teacher_tta = float(alpha), float(temperature), teacher_tta
        self.offline, self.fingerprint = bool(offline), fingerprint
        self.soft_labels: torch.Tensor | None = None  # (N, C) per training face, when offline
        self._device: torch.device | None = None

    def _to(self, device: torch.device) -> None:
        if device != self._device:
            # NHWC: faster than NCHW for these nets on CPUs too (docs/benchmarks.md)
            self.teachers = [t.to(device).to(memory_format=torch.channels_last).eval() for t in self.teachers]
            self._device = device

    def teacher_probs(self, x: torch.Tensor) -> torch.Tensor:
        """Mean over teachers (and their TTA views) of softmax(teacher logits / T); no gradient."""
        self._to(x.device)
        t = self.temperature

        def softened(net: nn.Module):
            return lambda v: net(v.contiguous(memory_format=torch.channels_last)) / t

        probs = torch.stack([predict_probs(softened(net), x, self.teacher_tta) for net in self.teachers]).mean(0)
        return probs.clone()  # predict_probs runs in inference mode; autograd may not save such tensors

    @torch.no_grad()
    def label_faces(self, faces: LabeledImages, cache_dir: str | Path | None = None, batch_size: int = 256,
                    autocast: torch.dtype | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
        """Soft labels for offline distillation: the teachers' softened probabilities for each face, in order.

        Cached under `cache_dir` by teachers, TTA, temperature and faces, so a second run starts at once.
        `autocast` (e.g. torch.bfloat16 where the CPU has native bf16) runs the teachers in that precision,
        on `device` (the run's GPU, where it has one); the labels are returned on the CPU.
        """
        digest = hashlib.sha1(faces.images.numpy().tobytes()).hexdigest()[:12]
        tta = CACHE_KEY_NAMES.get(self.teacher_tta, self.teacher_tta)
        key = f"{self.fingerprint}-{tta}-T{self.temperature:g}-{len(faces)}-{digest}"
        path = Path(cache_dir) / "soft_labels" / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.pt" if cache_dir else None
        if path is not None and path.exists():
            saved = torch.load(path, weights_only=True)
            if saved.get("key") == key:
                log.info("soft labels of %d faces read from %s", len(faces), path)
                self.soft_labels = saved["probs"]
                return self.soft_labels
        chunks = []
        device = torch.device(device)
        batches = tqdm(model_input_batches(faces.images, batch_size, device), total=math.ceil(len(faces) / batch_size),
                       desc=f"teacher soft labels ({self.teacher_tta})", unit="batch", leave=False)
        with torch.autocast(device.type, dtype=autocast or torch.bfloat16, enabled=autocast is not None):
            for x in batches:
                chunks.append(self.teacher_probs(x).float().cpu())
        self._to(torch.device("cpu"))  # the stored labels are all a run needs now: free the GPU's memory
        self.soft_labels = torch.cat(chunks) if chunks else torch.empty(0, 0)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save({"key": key, "probs": self.soft_labels}, path)
            log.info("soft labels of %d faces written to %s", len(faces), path)
        return self.soft_labels

    def kd_loss(self, student_logits: torch.Tensor, x: torch.Tensor, index: torch.Tensor | None = None,
                mix_weights: torch.Tensor | None = None) -> torch.Tensor:
        """T^2 * KL(teacher || student) on temperature-softened distributions, batch mean. `mix_weights`
        (B, B), when the batch was mixed, mixes the stored soft labels as its faces were mixed."""
        t = self.temperature
        log_p = F.log_softmax(student_logits.float() / t, dim=1)
        if self.offline:
            if self.soft_labels is None or index is None:
                raise ConfigError("offline distillation needs soft labels (Distiller.label_faces) and the index "
                                  "of each training face in the batch")
            target = self.soft_labels[index.cpu()].to(log_p.device)
            if mix_weights is not None:
                target = mix_weights.to(target) @ target
        else:  # the teachers see the mixed batch itself
            target = self.teacher_probs(x)
        return F.kl_div(log_p, target, reduction="batchmean") * t * t

    def loss(self, module: nn.Module, x: torch.Tensor, logits: torch.Tensor, ce: torch.Tensor,
             index: torch.Tensor | None = None, mix_weights: torch.Tensor | None = None) -> torch.Tensor:
        """Combine the module's CE with the distillation term for the batch `x` the student saw
        (`index`: the faces' positions in the training split, for offline soft labels; `mix_weights`: how
        mixup or cutmix mixed them)."""
        if self.alpha == 0.0:
            return ce
        kd = self.kd_loss(logits, x, index, mix_weights)
        log_metric = getattr(module, "log", None)  # a LightningModule's; a plain nn.Module has none
        if log_metric is not None:
            log_metric("train/kd", kd.detach(), on_step=False, on_epoch=True, batch_size=len(x))
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
    offline = bool(cfg.get("offline", False))
    return Distiller(load_teachers(teachers, class_names), alpha=float(cfg.get("alpha", 0.5)),
                     temperature=float(cfg.get("temperature", 4.0)),
                     teacher_tta=str(cfg.get("teacher_tta", "none")), offline=offline,
                     fingerprint=files_digest(teachers) if offline else "")  # only the soft-label cache reads it


def files_digest(paths: Sequence[str]) -> str:
    """A short digest of the teachers' file contents: soft labels are reused only for the same teachers."""
    h = hashlib.sha1()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:16]


def attach_distiller(module: FERModule, cfg: Mapping[str, Any] | None) -> Distiller | None:
    """Set `module.distiller` from the config (None switches distillation off)."""
    distiller = build_distiller(cfg, module.hparams["class_names"])
    module.distiller = distiller
    return distiller
