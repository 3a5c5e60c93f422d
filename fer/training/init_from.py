"""`init_from=PATH`: start the network of a training run from a trained checkpoint or bundle.

The same classes: the same layout and width copies the weights (born-again fine-tuning); a narrower student
of the same layout keeps each layer's strongest channels (fer.models.narrowing). Another class set (transfer
to another dataset, experiment=finetune): every tensor of the same name and shape is kept and the
classifier starts afresh (fer.training.finetune). Only the network's weights come over: the run's
optimiser, schedule and epoch count start afresh, unlike `ckpt_path`, which resumes.
"""

from __future__ import annotations

import logging
from pathlib import Path

from torch import nn

from fer.checkpoints.loading import load_model
from fer.errors import CheckpointError
from fer.models.narrowing import copy_narrowed
from fer.models.registry import get_classifier
from fer.training.finetune import transfer_weights

log = logging.getLogger(__name__)


def init_from(net: nn.Module, path: str | Path, class_names: list[str]) -> None:
    """Copy the weights of the checkpoint at `path` into `net`: narrowed where `net` is narrower, by name and
    shape (classifier replaced) where the class sets differ."""
    source = load_model(path)  # CheckpointError with a clear message for a missing or broken file
    if list(source.class_names) == list(class_names):
        try:
            widths = copy_narrowed(source.net, net)
        except CheckpointError:
            if sum(p.numel() for p in source.net.parameters()) != sum(p.numel() for p in net.parameters()):
                raise  # a narrower net of another layout: the narrowing's message says why
        else:
            log.info("network initialised from %s (%s %s), conv widths now %s", path, source.model,
                     source.model_kwargs, widths)
            return
    kept, replaced = transfer_weights(source.net, net)
    if not kept:
        raise CheckpointError(f"init_from={path} ({source.model} {source.model_kwargs}) shares no layer of the "
                              "same name and shape with this run's model; use the same model and kwargs")
    lost = [n for n in replaced if not n.startswith(f"{get_classifier(net)[0]}.")]
    if lost:  # another layout, e.g. other dropout layers shift the names: say how to match the source
        log.warning("init_from=%s: %d tensors of the backbone found no match of the same name and shape and start "
                    "afresh; train with the source's model=%s model.kwargs=%s to keep them all", path, len(lost),
                    source.model, source.model_kwargs)
    log.info("network initialised from %s (%s %s, classes %s -> %s): kept %d tensors, replaced %d: %s", path,
             source.model, source.model_kwargs, list(source.class_names), list(class_names), len(kept),
             len(replaced), ", ".join(replaced) or "none")
