"""A fit's learning-rate schedule as Lightning holds it, read in one place: by the time budget's deadline
guard (fer.training.deadline), which moves a one-cycle along the clock, and by the batched augmentation
(fer.data.datamodule), whose crops may end part-way through it. It imports neither torch nor Lightning."""

from __future__ import annotations

from typing import Any


def step_schedule(trainer: Any) -> tuple[Any, int | None]:
    """The run's (first) scheduler, or None, and for a one-cycle its length in steps, else None."""
    configs = trainer.lr_scheduler_configs
    sched = configs[0].scheduler if configs else None
    return sched, getattr(sched, "total_steps", None)


def schedule_progress(trainer: Any) -> float:
    """The share of the training schedule done, in [0, 1]: a one-cycle's position (which follows the clock
    in a time budget), else the steps done out of those the fit will run."""
    sched, total = step_schedule(trainer)
    if sched is not None and total:
        return min(1.0, max(0, sched.last_epoch) / max(1, total - 1))
    steps = trainer.estimated_stepping_batches
    return min(1.0, trainer.global_step / steps) if 0 < steps < float("inf") else 0.0
