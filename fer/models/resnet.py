"""torchvision's ResNet-18 adapted to 1x48x48 faces, optionally from ImageNet weights.

ImageNet weights need a download (or a file already in $TORCH_HOME/hub/checkpoints); where neither
is possible, `pretrained=True` fails with a message saying so, and `pretrained=False` trains.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import ResNet18_Weights
from torchvision.models import resnet18 as tv_resnet18

from fer.errors import PretrainedWeightsUnavailable
from fer.models.registry import register_model


def imagenet_state_dict() -> dict[str, torch.Tensor]:
    weights = ResNet18_Weights.IMAGENET1K_V1
    try:
        return weights.get_state_dict(progress=False)
    except Exception as err:  # URLError, SSL errors, timeouts, a truncated file...
        raise PretrainedWeightsUnavailable(
            f"could not load ImageNet weights for resnet18 ({type(err).__name__}: {err}). They are downloaded from "
            f"{weights.url} on first use; without internet, put that file into $TORCH_HOME/hub/checkpoints/, "
            "or train from scratch with model.pretrained=false."
        ) from None


@register_model
def resnet18(num_classes: int = 7, in_chans: int = 1, pretrained: bool = False, small_input: bool = True,
             dropout: float = 0.0) -> nn.Module:
    """ResNet-18; `small_input` swaps the 7x7/2 stem and max-pool for a 3x3/1 stem, as 48x48 needs."""
    net = tv_resnet18(weights=None)
    if pretrained:
        net.load_state_dict(imagenet_state_dict())
    rgb = net.conv1.weight.data
    if small_input:
        net.conv1 = nn.Conv2d(in_chans, 64, 3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
        if pretrained:  # keep the pretrained filters' centre 3x3, summed over RGB for gray input
            net.conv1.weight.data = rgb[:, :, 2:5, 2:5].sum(1, keepdim=True).repeat(1, in_chans, 1, 1) / in_chans
    elif in_chans != 3:
        net.conv1 = nn.Conv2d(in_chans, 64, 7, stride=2, padding=3, bias=False)
        if pretrained:
            net.conv1.weight.data = rgb.sum(1, keepdim=True).repeat(1, in_chans, 1, 1) / in_chans
    net.fc = nn.Sequential(nn.Dropout(dropout), nn.Linear(net.fc.in_features, num_classes))
    net.classifier_name = "fc.1"  # torchvision's class has no attribute of its own for it
    return net
