"""Test-time augmentation: average a model's softmax over flipped and cropped views of each face."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from fer.errors import ConfigError

TTA_MODES = ("none", "flip", "tencrop")


def five_crops(x: torch.Tensor, size: int) -> list[torch.Tensor]:
    """Four corners and the centre, each `size` px square, resized back to the input size."""
    h, w = x.shape[-2:]
    tops = [(0, 0), (0, w - size), (h - size, 0), (h - size, w - size), ((h - size) // 2, (w - size) // 2)]
    return [
        F.interpolate(x[..., t : t + size, left : left + size], size=(h, w), mode="bilinear", align_corners=False)
        for t, left in tops
    ]


def views(x: torch.Tensor, mode: str, crop: int = 44) -> list[torch.Tensor]:
    """The batches a model sees under each TTA mode (the first is always the plain input)."""
    if mode not in TTA_MODES:
        raise ConfigError(f"tta={mode!r} is not one of {', '.join(TTA_MODES)}")
    if mode == "none":
        return [x]
    if mode == "flip":
        return [x, x.flip(-1)]
    crops = five_crops(x, crop)
    return [x, x.flip(-1)] + crops + [c.flip(-1) for c in crops]


# Forward passes take at most this many images. Activations of thousands of 48x48 faces run to
# gigabytes, and buffers that large are mapped fresh from the kernel and zeroed on every pass:
# ten-crop over 512 faces (6,144 images) spent more time in the kernel than in the convolutions.
MAX_FORWARD = 64


@torch.inference_mode()
def predict_probs(model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, mode: str = "none",
                  max_forward: int = MAX_FORWARD) -> torch.Tensor:
    """Mean softmax over the views of `mode`, forwarding the stacked views `max_forward` images at a time."""
    vs = views(x, mode)
    logits = torch.cat([model(chunk) for chunk in torch.cat(vs).split(max_forward)])
    return logits.float().softmax(1).view(len(vs), len(x), -1).mean(0)
