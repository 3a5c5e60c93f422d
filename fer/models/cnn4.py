"""The reference four-block CNN (about 4.47M parameters at 1x48x48, 7 classes).

`attention` (fer.models.attention: se | cbam) adds a block after each conv block's ReLU, before its pool;
None builds the reference network exactly.
"""

from __future__ import annotations

from torch import nn

from fer.models.attention import attention_blocks
from fer.models.registry import register_model


def conv_block(cin: int, cout: int, kernel: int, dropout: float, attention: str | None = None) -> nn.Sequential:
    # Conv -> BN -> ReLU [-> attention] -> MaxPool 2x2 -> Dropout; 'same' padding keeps the size until the pool.
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, padding=kernel // 2),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        *attention_blocks(attention, cout),
        nn.MaxPool2d(2),
        nn.Dropout(dropout),
    )


def dense_block(fin: int, fout: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(fin, fout), nn.BatchNorm1d(fout), nn.ReLU(inplace=True), nn.Dropout(dropout))


class CNN4(nn.Module):
    classifier_name = "classifier.3"  # the layer that maps features to class scores (fer.models.registry.get_classifier)

    def __init__(self, num_classes: int, in_chans: int, dropout: float, attention: str | None):
        super().__init__()
        self.features = nn.Sequential(
            conv_block(in_chans, 64, 3, dropout, attention),  # 48 -> 24
            conv_block(64, 128, 5, dropout, attention),  # 24 -> 12
            conv_block(128, 512, 3, dropout, attention),  # 12 -> 6
            conv_block(512, 512, 3, dropout, attention),  # 6 -> 3
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            dense_block(512 * 3 * 3, 256, dropout),
            dense_block(256, 512, dropout),
            nn.Linear(512, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


@register_model
def cnn4(num_classes: int = 7, in_chans: int = 1, dropout: float = 0.25, attention: str | None = None) -> nn.Module:
    return CNN4(num_classes=num_classes, in_chans=in_chans, dropout=dropout, attention=attention)
