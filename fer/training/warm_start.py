"""`init_from=PATH`: start the network of a training run from a trained checkpoint or bundle.

The same layout and width copies the weights (born-again fine-tuning); a narrower student of the same
layout keeps each layer's strongest channels (fer.models.narrowing). Only the network's weights come
over: the run's optimiser, schedule and epoch count start afresh, unlike `ckpt_path`, which resumes.
"""

from __future__ import annotations

import logging
from pathlib import Path

from torch import nn

from fer.checkpoints.loading import load_model
from fer.errors import CheckpointError
from fer.models.narrowing import copy_narrowed

log = logging.getLogger(__name__)


def warm_start(net: nn.Module, path: str | Path, class_names: list[str]) -> None:
    """Copy the weights of the checkpoint at `path` into `net`, narrowing them where `net` is narrower."""
    source = load_model(path)  # CheckpointError with a clear message for a missing or broken file
    if list(source.class_names) != list(class_names):
        raise CheckpointError(f"init_from={path} predicts {source.class_names}, this run {list(class_names)}")
    widths = copy_narrowed(source.net, net)
    log.info("network initialised from %s (%s %s), conv widths now %s", path, source.model, source.model_kwargs,
             widths)
