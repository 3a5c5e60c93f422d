"""The budget's warm-up timing: a throw-away fit per model size that times this machine in the run's own
precision and pipeline (training batches start to start, a validation pass, the per-epoch gaps and a
checkpoint save), for the planner (fer.training.budget.plan) to size the run with."""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
from omegaconf import DictConfig, open_dict

from fer.data.datamodule import FERDataModule
from fer.training.build import build_module

log = logging.getLogger(__name__)


@dataclass
class Throughput:
    """Measured seconds per training batch and per validation pass of one model size."""

    kwargs: dict[str, Any]
    train_batch_s: float
    val_pass_s: float
    epoch_overhead_s: float = 0.0
    epoch_s: float = 0.0



class _WarmupTimer(L.Callback):
    """Times training batches start to start (their loading and augmentation count too) until at least
    `min_batches` ran and `min_seconds` passed, over as many epochs as a small dataset needs, then stops
    the fit, which validates; also times that validation and the gaps every epoch pays (starting the
    loaders, the epoch-end hooks)."""

    def __init__(self, min_batches: int, min_seconds: float):
        self.min_batches, self.min_seconds = min_batches, min_seconds
        self.intervals: list[float] = []
        self.val_start = self.val_end = 0.0
        self.epoch_start = self.first_batch = self.last_batch_end = self.epoch_end = 0.0
        self.started, self.batches = 0.0, 0
        self._t = 0.0

    @property
    def batch_s(self) -> float:
        # The first batches of a process are slow (kernel set-up, fresh memory from the OS): only the
        # later half counts, by its median.
        settled = sorted(self.intervals[len(self.intervals) // 2:])
        if not settled:  # an epoch of one batch
            return self.last_batch_end - self.first_batch
        return settled[len(settled) // 2]

    def on_train_epoch_start(self, trainer, pl_module):
        self.epoch_start = time.perf_counter()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        now = time.perf_counter()
        if batch_idx == 0:  # intervals stay within an epoch: none spans a validation pass
            self.first_batch = now
            self.started = self.started or now
        else:
            self.intervals.append(now - self._t)
        self._t = now

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.last_batch_end = time.perf_counter()
        self.batches += 1
        if self.batches >= self.min_batches and self.last_batch_end - self.started >= self.min_seconds:
            trainer.should_stop = True

    def on_validation_start(self, trainer, pl_module):
        self.val_start = time.perf_counter()

    def on_validation_end(self, trainer, pl_module):
        self.val_end = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        self.epoch_end = time.perf_counter()

    def gaps_s(self) -> float:
        """Seconds of an epoch outside its training batches and validation pass."""
        before = self.first_batch - self.epoch_start
        between = max(0.0, self.val_start - self.last_batch_end)
        after = max(0.0, self.epoch_end - max(self.val_end, self.last_batch_end))
        return max(0.0, before) + between + after


def measure(cfg: DictConfig, datamodule: FERDataModule, kwargs: dict[str, Any], batches: int,
            val_batches: int, seconds: float = 0.0) -> Throughput:
    """A throw-away fit of at least `batches` training batches and `seconds`, then `val_batches`
    validation batches."""
    trial = cfg.copy()
    with open_dict(trial):
        trial.model.kwargs = kwargs
        trial.optim.scheduler = "none"  # a few steps are too short for a one-cycle; timing is the same
    module = build_module(trial, datamodule)
    timer = _WarmupTimer(batches, seconds)
    trainer = L.Trainer(
        accelerator=cfg.trainer.get("accelerator", "auto"), devices=1, precision=cfg.trainer.precision,
        max_epochs=1000, min_epochs=0, limit_val_batches=val_batches, num_sanity_val_steps=0,  # stops on time
        logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[timer], default_root_dir=cfg.paths.output_dir,
    )
    trainer.fit(module, datamodule=datamodule)
    train_batches = len(datamodule.train_dataloader())
    full_val = len(datamodule.val_dataloader())
    per_val_batch = (timer.val_end - timer.val_start) / max(1, min(val_batches, full_val))
    t = Throughput(dict(kwargs), timer.batch_s, per_val_batch * full_val)
    t.epoch_overhead_s = epoch_overhead(cfg, trainer, timer)
    t.epoch_s = t.train_batch_s * train_batches + t.val_pass_s + t.epoch_overhead_s
    log.info("warm-up %s: %.3f s per training batch, %.1f s per validation pass, %.2f s of other per-epoch "
             "work -> %.1f s per epoch", kwargs, t.train_batch_s, t.val_pass_s, t.epoch_overhead_s, t.epoch_s)
    return t


def epoch_overhead(cfg: DictConfig, trainer: L.Trainer, timer: _WarmupTimer) -> float:
    """Per-epoch seconds besides training and validation: `budget.epoch_overhead_s` when set, else
    measured: the warm-up epoch's gaps plus two checkpoint saves (the run keeps a best and a last one)."""
    fixed = cfg.budget.get("epoch_overhead_s")
    if fixed is not None:
        return float(fixed)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        trainer.save_checkpoint(Path(tmp) / "warmup.ckpt")
        save_s = time.perf_counter() - t0
    return timer.gaps_s() + 2 * save_s
