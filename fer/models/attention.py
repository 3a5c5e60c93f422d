"""Channel (and spatial) attention blocks the CNNs can insert after each conv block: `attention=se|cbam`.

se:   squeeze-and-excitation (Hu et al. 2018), torchvision's SqueezeExcitation: global average pool,
      a bottleneck MLP and a sigmoid rescale each channel.
cbam: CBAM (Woo et al. 2018): the same channel gate fed by both average- and max-pooled features, then a
      7x7 conv over the per-pixel channel mean and max rescales each position.
Either keeps the feature map's shape, so the network around it is unchanged.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.ops import SqueezeExcitation

from fer.errors import ConfigError

ATTENTION = ("se", "cbam")
REDUCTION = 16  # bottleneck = channels / 16, as both papers use
MIN_SQUEEZE = 8  # narrow early stages keep a usable bottleneck


def squeeze_width(channels: int) -> int:
    return max(channels // REDUCTION, MIN_SQUEEZE)


class ChannelGate(nn.Module):
    """CBAM's channel attention: one shared MLP over average- and max-pooled channels."""

    def __init__(self, channels: int):
        super().__init__()
        hidden = squeeze_width(channels)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.mlp(x.mean((2, 3), keepdim=True))
        peak = self.mlp(x.amax((2, 3), keepdim=True))
        return x * torch.sigmoid(avg + peak)


class SpatialGate(nn.Module):
    """CBAM's spatial attention: a 7x7 conv over the channel mean and max of each position."""

    def __init__(self, kernel: int = 7):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(2, 1, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(pooled))


class CBAM(nn.Sequential):
    def __init__(self, channels: int):
        super().__init__(ChannelGate(channels), SpatialGate())


def check_attention(kind: str | None) -> str | None:
    if kind is not None and kind not in ATTENTION:
        raise ConfigError(f"unknown attention {kind!r}; choose one of: {', '.join(ATTENTION)}, or null (none)")
    return kind


def attention_blocks(kind: str | None, channels: int) -> list[nn.Module]:
    """[] for no attention, else the one block to insert after a conv block of `channels` outputs."""
    if check_attention(kind) is None:
        return []
    if kind == "se":
        return [SqueezeExcitation(channels, squeeze_width(channels))]
    return [CBAM(channels)]
