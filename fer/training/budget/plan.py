"""The budget's planner: measure, then size the schedule so it ends on time and complete.

A short warm-up fit per model size (fer.training.budget.timing) times training batches, a validation pass,
and the per-epoch gaps and checkpoint saves. From that, the plan picks the widest of the sizes in
`budget.sizes` that still gets `min_epochs` epochs, as many whole epochs as fit in what is left after start-up and the final
test/report, and a shorter last epoch from the remainder. The one-cycle schedule is built for exactly those
steps, so it reaches its final learning rate; `fer.training.deadline.DeadlineGuard` keeps to the deadline
whatever speed the machine turns out to have: slower than measured (another job takes the cores), the
schedule reaches its end in fewer steps; faster, it is stretched over more, and either way it ends on time
and complete."""

from __future__ import annotations

import copy
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, open_dict

from fer.constants import IMAGE_SIZE
from fer.data.augment import AugmentConfig
from fer.data.shipped_conf import resolved_dict
from fer.errors import ConfigError
from fer.numbers import positive_number, whole_number
from fer.training.budget.timing import Throughput, measure
from fer.training.build import build_datamodule

log = logging.getLogger(__name__)


def process_age_s() -> float:
    """Seconds since this process started (Linux); 0 elsewhere, so the budget counts from the call."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return max(0.0, float(Path("/proc/uptime").read_text().split()[0]) - started)
    except (OSError, ValueError, IndexError):
        return 0.0


@dataclass
class BudgetPlan:
    budget_s: float
    started_at: float            # time.time() the budget counts from
    model_kwargs: dict[str, Any]
    epochs: int
    epoch_s: float               # predicted training + validation seconds per epoch
    reserve_s: float             # kept for the final test and report
    train_batches: int | None = None  # set when even one full epoch does not fit
    max_steps: int | None = None      # set when a shorter last epoch uses what whole epochs leave over
    val_s: float = 0.0           # one validation pass
    epoch_overhead_s: float = 0.0
    planned_steps: int | None = None  # the one-cycle's length; DeadlineGuard fills in this and the next two
    steps_run: int = 0           # more than planned on a machine faster than its warm-up, fewer on a slower one
    last_step_lr: float | None = None  # the learning rate of the last optimizer step
    schedule_complete: bool | None = None  # the one-cycle reached its final learning rate
    augment: dict[str, Any] | None = None  # the chosen size's augmentation (all of data.augment), where it has its own
    measured: list[dict[str, Any]] = field(default_factory=list)

    @property
    def deadline(self) -> float:
        return self.started_at + self.budget_s

    @property
    def fit_deadline(self) -> float:
        return self.deadline - self.reserve_s

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        out["started_at"] = round(self.started_at, 1)
        out["epoch_s"] = round(self.epoch_s, 2)
        out["reserve_s"] = round(self.reserve_s, 1)
        out["end_s"] = round(time.time() - self.started_at, 1)  # budget seconds used when summarised
        return out


def epochs_that_fit(seconds_left: float, epoch_s: float, max_epochs: int) -> int:
    return max(0, min(max_epochs, math.floor(seconds_left / max(epoch_s, 1e-6))))


def minimum_epochs(setting: int | None, minutes: float) -> int:
    """`budget.min_epochs`, or when null one per 4 minutes of budget and at least 14: a short budget buys
    epochs before it buys a wider model (10 min -> 14, 60 min -> 15): in a short budget, more epochs of a
    narrow net score higher than fewer of a wide one (docs/results.md, the budget log)."""
    if setting is not None:
        return int(setting)
    return max(14, math.ceil(minutes / 4))


def add_partial_epoch(epochs: int, epoch_s: float, seconds_left: float, t: Throughput,
                      batches_per_epoch: int) -> tuple[int, int | None]:
    """Spend what whole epochs leave over on a shorter last epoch (with its own validation), so a budget
    of a few epochs is not up to one epoch short. Returns (epochs, max_steps or None)."""
    batch_s = max(1e-6, (epoch_s - t.val_pass_s - t.epoch_overhead_s) / batches_per_epoch)
    spare = seconds_left - epochs * epoch_s - t.val_pass_s - t.epoch_overhead_s
    extra = math.floor(spare / batch_s)
    if extra < max(1, batches_per_epoch // 10):  # too little to be worth another validation pass
        return epochs, None
    extra = min(extra, batches_per_epoch - 1)
    return epochs + 1, epochs * batches_per_epoch + extra


def choose_size(sizes: list[dict[str, Any]], epoch_s: dict[int, float], seconds_left: float,
                min_epochs: list[int], max_epochs: int) -> tuple[int, int]:
    """Index of the widest size that still fits its `min_epochs[i]` epochs, and its epoch count.

    `epoch_s` holds a (measured or estimated) epoch time per size; the sizes run widest first.
    When nothing reaches its minimum, the smallest model gets what fits (at least one epoch).
    """
    for i in range(len(sizes)):
        n = epochs_that_fit(seconds_left, epoch_s[i], max_epochs)
        if n >= min_epochs[i]:
            return i, n
    last = len(sizes) - 1
    return last, max(1, epochs_that_fit(seconds_left, epoch_s[last], max_epochs))


@dataclass
class ModelSizes:
    """`budget.sizes`, widest first: each size's model kwargs, plus what the planner reads and the model
    must not see: a size's own augmentation (a small model that underfits wants less) and its own minimum
    of epochs (a wide, heavily regularised model is worse than a narrower one when trained briefly)."""

    kwargs: list[dict[str, Any]]
    augment: list[dict[str, Any] | None]
    min_epochs: list[int]


def read_sizes(cfg: DictConfig) -> ModelSizes:
    b = cfg.budget
    sizes = [resolved_dict(k) for k in b.sizes] or [resolved_dict(cfg.model.kwargs)]
    augment = [size.pop("augment", None) for size in sizes]
    for extra in filter(None, augment):  # a misspelt key fails now, not after the warm-up
        AugmentConfig.from_dict(extra, where="budget.sizes augment")
    least = minimum_epochs(b.min_epochs, float(b.minutes))
    min_epochs = [max(least, int(size.pop("min_epochs", None) or 0)) for size in sizes]
    return ModelSizes(sizes, augment, min_epochs)


def check_budget_config(cfg: DictConfig) -> None:
    """The budget's settings, where they enter (before any warm-up)."""
    b = cfg.budget
    if b.minutes is None:
        raise ConfigError("budget.minutes must be a positive number of minutes, e.g. budget.minutes=10")
    positive_number(b.minutes, "budget.minutes")
    if cfg.optim.scheduler != "onecycle":
        raise ConfigError("a time budget needs a one-cycle schedule: use optim=sgd_onecycle")
    if str(cfg.trainer.get("strategy", "auto")).startswith("ddp") or int(cfg.trainer.get("num_nodes", 1)) > 1:
        # Each DDP rank would time its own warm-up and could size a different model or stop at another step.
        raise ConfigError("a time budget plans a single process; run it without trainer=ddp / trainer=ddp_cpu")
    whole_number(b.warmup_batches, "budget.warmup_batches", 2)
    whole_number(b.warmup_val_batches, "budget.warmup_val_batches", 1)
    read_sizes(cfg)


def crop_batch_factor(warmup: AugmentConfig, run: AugmentConfig, side: int = IMAGE_SIZE) -> float:
    """A run's mean seconds per training batch relative to its warm-up's where their crops differ: the
    cost follows the pixels. Crops that end part-way (`crop_until`) fill that share of the time, as the
    budget's schedule follows the clock, so the mean over steps is a harmonic one."""
    def cost(crop: int) -> float:
        return (crop or side) ** 2 / (warmup.crop or side) ** 2

    if not run.crop or run.crop_until >= 1:
        return cost(run.crop)
    f = run.crop_until
    return 1.0 / (f / cost(run.crop) + (1 - f) / cost(0))


def estimated_epoch_s(sizes: ModelSizes, measured: dict[int, Throughput], first: int,
                      width_exponent: float) -> dict[int, float]:
    """Epoch seconds per size: measured where timed, else scaled from the first size timed by compute,
    conv cost ~ width^2 raised to `width_exponent` < 1 (narrow convolutions use the cores less well);
    the per-epoch overhead does not scale with the model."""
    ref = measured[first]
    w0 = float(ref.kwargs.get("width", 1))
    out = {}
    for i, kw in enumerate(sizes.kwargs):
        if i in measured:
            out[i] = measured[i].epoch_s
        else:
            ratio = (float(kw.get("width", w0)) / w0) ** (2 * width_exponent)
            out[i] = (ref.epoch_s - ref.epoch_overhead_s) * ratio + ref.epoch_overhead_s
    return out


def plan_budget(cfg: DictConfig, called_at: float | None = None) -> BudgetPlan:
    """Measure and size the run: its network, epochs and augmentation, decided before the run's datamodule
    is built (the warm-up trains on one of its own). `cfg` is left as it is: `with_plan` applies the plan."""
    check_budget_config(cfg)
    b = cfg.budget
    budget_s = float(b.minutes) * 60.0
    now = time.time()
    # Start-up (imports, data loading, cache) counts when the budget runs from the process start.
    started_at = now - process_age_s() if b.count_from == "process" else (called_at or now)
    datamodule = build_datamodule(cfg)
    datamodule.setup()
    sizes = read_sizes(cfg)
    batches, val_batches = int(b.warmup_batches), int(b.warmup_val_batches)
    warmup_s = min(float(b.warmup_fraction) * budget_s, float(b.warmup_max_s))  # per size measured

    warmup_augment = resolved_dict(cfg.data.augment)  # what the warm-up trains with
    warmup_crops = AugmentConfig.from_dict(warmup_augment)

    def timed(i: int) -> Throughput:
        t = measure(cfg, datamodule, sizes.kwargs[i], batches, val_batches, warmup_s)
        # The size's own crops (or crops that end part-way) cost otherwise than the warm-up's.
        run_augment = AugmentConfig.from_dict({**warmup_augment, **(sizes.augment[i] or {})})
        factor = crop_batch_factor(warmup_crops, run_augment)
        if factor != 1.0:
            t.epoch_s += (factor - 1.0) * t.train_batch_s * len(datamodule.train_dataloader())
            t.train_batch_s *= factor
            log.info("budget: %s's crops cost %.2fx the warm-up's batch on average -> %.1f s per epoch",
                     sizes.kwargs[i], factor, t.epoch_s)
        return t

    def seconds_left(reserve: float) -> float:
        return started_at + budget_s - reserve - time.time()

    def reserve_after(t: Throughput) -> float:  # the final test and the report
        return float(b.reserve_s) if b.reserve_s is not None else t.val_pass_s * float(b.test_factor) + float(b.report_s)

    def choose() -> int:
        estimates = estimated_epoch_s(sizes, measured, first, float(b.width_exponent))
        return choose_size(sizes.kwargs, estimates, seconds_left(reserve), sizes.min_epochs, int(b.max_epochs))[0]

    first = int(b.measure_index) if 0 <= int(b.measure_index) < len(sizes.kwargs) else 0
    measured = {first: timed(first)}
    reserve = reserve_after(measured[first])
    idx = choose()
    if idx not in measured:
        measured[idx] = timed(idx)
        idx = choose()
    if idx not in measured:  # the second measurement moved the choice again; settle on the estimate
        log.info("budget: %s chosen from an estimated epoch time", sizes.kwargs[idx])
    chosen = measured.get(idx, measured[first])
    reserve = reserve_after(chosen)
    epoch_s = estimated_epoch_s(sizes, measured, first, float(b.width_exponent))[idx]
    epochs, epoch_s, train_batches, max_steps = size_schedule(seconds_left(reserve), epoch_s, chosen,
                                                              int(b.max_epochs), len(datamodule.train_dataloader()))
    augment = sizes.augment[idx]
    plan = BudgetPlan(budget_s, started_at, sizes.kwargs[idx], epochs, epoch_s, reserve, train_batches=train_batches,
                      max_steps=max_steps, val_s=chosen.val_pass_s, epoch_overhead_s=chosen.epoch_overhead_s,
                      augment={**warmup_augment, **augment} if augment
                      else None,
                      measured=[asdict(t) for t in measured.values()])
    log.info("budget %.1f min: %.0f s used before training; model %s, %d epoch(s) of ~%.1f s%s, %.0f s kept for "
             "test and report", float(b.minutes), time.time() - started_at, plan.model_kwargs, epochs, epoch_s,
             f" ({train_batches} batches only)" if train_batches else f" (the last one ends at step {max_steps})"
             if max_steps else "", reserve)
    return plan


def size_schedule(seconds_left: float, epoch_s: float, t: Throughput, max_epochs: int,
                  batches_per_epoch: int) -> tuple[int, float, int | None, int | None]:
    """(epochs, epoch seconds, train batches per epoch or None, max_steps or None) for the time left."""
    epochs = epochs_that_fit(seconds_left, epoch_s, max_epochs)
    if epochs < 1:
        # Not even one full epoch fits (a slow or busy machine): one shorter epoch, its schedule complete.
        fit_s = seconds_left - t.val_pass_s - t.epoch_overhead_s
        batches = max(1, math.floor(fit_s / t.train_batch_s))
        return 1, batches * t.train_batch_s + t.val_pass_s + t.epoch_overhead_s, batches, None
    if epochs >= max_epochs:
        return epochs, epoch_s, None, None
    epochs, max_steps = add_partial_epoch(epochs, epoch_s, seconds_left, t, batches_per_epoch)
    return epochs, epoch_s, None, max_steps


def with_plan(cfg: DictConfig, plan: BudgetPlan) -> DictConfig:
    """The planned model size, epochs and steps, and the chosen size's augmentation where it has its own."""
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
    return out
