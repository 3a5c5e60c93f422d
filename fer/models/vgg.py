"""VGG-style nets for 48x48 faces: stacks of 3x3 conv-BN-ReLU, 2x2 max-pool between stages.

`fastcnn` is sized for time-to-accuracy on a CPU; `vgg13` (wider, three convs in the deeper stages)
for accuracy when compute is plentiful. Global average pooling keeps the classifier small.
`attention` (fer.models.attention: se | cbam) adds a block after each stage's convs; None adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from fer.models.attention import attention_blocks
from fer.models.registry import register_model


def conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class VGGStyleNet(nn.Module):
    classifier_name = "head.3"  # the layer that maps features to class scores (fer.models.registry.get_classifier)

    def __init__(
        self,
        widths: Sequence[int],
        depths: Sequence[int],
        num_classes: int,
        in_chans: int,
        dropout: float,
        stage_dropout: float,
        attention: str | None,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_chans
        for i, (width, depth) in enumerate(zip(widths, depths, strict=True)):
            for _ in range(depth):
                layers += conv_bn_relu(cin, width)
                cin = width
            layers += attention_blocks(attention, width)
            if i < len(widths) - 1:  # the last stage is pooled globally instead
                layers.append(nn.MaxPool2d(2))
                if stage_dropout > 0:
                    layers.append(nn.Dropout2d(stage_dropout))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(cin, num_classes))

    def forward(self, x):
        return self.head(self.features(x))


@register_model
def fastcnn(num_classes: int = 7, in_chans: int = 1, width: int = 32, dropout: float = 0.3,
            stage_dropout: float = 0.0, attention: str | None = None) -> nn.Module:
    """~1.2M params, ~118M MACs at 48x48: two convs per stage, widths w, 2w, 4w, 8w."""
    return VGGStyleNet([width, 2 * width, 4 * width, 8 * width], [2, 2, 2, 2], num_classes, in_chans, dropout,
                   stage_dropout, attention)


@register_model
def vgg13(num_classes: int = 7, in_chans: int = 1, width: int = 64, dropout: float = 0.5,
          stage_dropout: float = 0.1, attention: str | None = None) -> nn.Module:
    """A VGG-13-like net at 48x48: widths 64-128-256-512, depths 2-2-3-3."""
    return VGGStyleNet([width, 2 * width, 4 * width, 8 * width], [2, 2, 3, 3], num_classes, in_chans, dropout,
                   stage_dropout, attention)
