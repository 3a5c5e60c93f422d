"""Transfer learning: carry a trained network over to another dataset, then fine-tune it.

The classifier is the layer the net names in `classifier_name` (fer.models.registry.get_classifier);
everything else is the backbone. `transfer_weights` copies every tensor whose name and shape match, so with another class
set the classifier starts afresh while the backbone is kept. `FreezeBackbone` keeps the backbone frozen
(weights and batch-norm statistics) for the first `freeze_epochs` epochs, so the new classifier settles
before its gradients reach the features; FERModule's `backbone_lr_scale` then trains the backbone at a
lower learning rate than the classifier (two parameter groups).
"""

from __future__ import annotations

import logging

import torch
from lightning.pytorch.callbacks import BaseFinetuning
from torch import nn

from fer.models.registry import get_classifier

log = logging.getLogger(__name__)


def split_parameters(net: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """(backbone parameters, classifier parameters) of the net."""
    head = {id(p) for p in get_classifier(net)[1].parameters()}
    params = list(net.parameters())
    return [p for p in params if id(p) not in head], [p for p in params if id(p) in head]


def backbone_modules(net: nn.Module) -> list[nn.Module]:
    """The leaf modules of the backbone (every leaf but the classifier)."""
    head = get_classifier(net)[1]
    return [m for m in BaseFinetuning.flatten_modules(net) if m is not head]


@torch.no_grad()
def transfer_weights(source: nn.Module, target: nn.Module) -> tuple[list[str], list[str]]:
    """Copy each of source's tensors (parameters and buffers) into the target tensor of the same name and
    shape. Returns (kept, replaced): target names copied, and names left as initialised (no match)."""
    src = source.state_dict()
    kept, replaced = [], []
    for name, tensor in target.state_dict().items():
        match = src.get(name)
        if match is not None and match.shape == tensor.shape:
            tensor.copy_(match)
            kept.append(name)
        else:
            replaced.append(name)
    return kept, replaced


class FreezeBackbone(BaseFinetuning):
    """Backbone frozen (no gradients, batch-norm statistics fixed) for the first `freeze_epochs` epochs,
    trainable from then on. Its parameters stay in the optimizer all along (Adam and SGD skip parameters
    without gradients), so every learning-rate schedule sees the same parameter groups throughout."""

    def __init__(self, freeze_epochs: int):
        super().__init__()
        self.freeze_epochs = freeze_epochs
        self.frozen = False

    def freeze_before_training(self, pl_module) -> None:
        if self.freeze_epochs > 0:
            self.freeze(backbone_modules(pl_module.net), train_bn=False)
            self.frozen = True
            log.info("fine-tuning: backbone frozen for the first %d epoch(s)", self.freeze_epochs)

    def finetune_function(self, pl_module, epoch: int, optimizer) -> None:
        # `>=`: a run resumed past the freeze epochs unfreezes at its first epoch.
        if self.frozen and epoch >= self.freeze_epochs:
            self.make_trainable(backbone_modules(pl_module.net))
            self.frozen = False
            log.info("fine-tuning: backbone trainable from epoch %d", epoch)
