"""Decisions every DDP process must take together, or the gradient all-reduce waits forever."""

from __future__ import annotations

import lightning as L
import torch


def finite_on_all_ranks(trainer: L.Trainer | None, loss: torch.Tensor) -> bool:
    """True when the loss is finite on every process.

    A rank that skips its backward pass while the others run theirs would hang them in the all-reduce,
    so a non-finite loss on any rank makes all ranks skip the step and stop together.
    """
    finite = bool(torch.isfinite(loss))
    if trainer is not None and trainer.world_size > 1:
        return trainer.strategy.reduce_boolean_decision(finite, all=True)
    return finite
