"""The one preprocessing path shared by training data readers and live inference.

A face crop of any size or colour becomes a 48x48 uint8 grayscale image (`to_gray48`), and a
batch of those becomes the model's float input in [0, 1] (`to_model_input`; `model_input_batches`
for a whole split, a batch at a time).

Inference runs on numpy alone (the light install has no PyTorch); training hands the same
functions torch tensors, already on its device. Both take the same steps: uint8 -> float32,
then one IEEE float32 division by 255, so numpy and torch inputs are bit-identical.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, overload

import cv2
import numpy as np

from fer.constants import IMAGE_SIZE

if TYPE_CHECKING:
    import torch

PIXEL_MAX = 255.0  # uint8 white: model inputs are pixel / PIXEL_MAX


def to_gray48(image: np.ndarray) -> np.ndarray:
    """Convert a BGR/BGRA/gray image of any size to a 48x48 uint8 grayscale image."""
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    elif image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    elif image.ndim == 3:
        image = image[..., 0]
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
        # INTER_AREA averages pixels when shrinking, which is what FER-2013's own crops look like.
        shrinking = image.shape[0] >= IMAGE_SIZE and image.shape[1] >= IMAGE_SIZE
        interp = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        image = cv2.resize(image, (IMAGE_SIZE, IMAGE_SIZE), interpolation=interp)
    return np.ascontiguousarray(image)


@overload
def to_model_input(images: np.ndarray) -> np.ndarray: ...
@overload
def to_model_input(images: torch.Tensor) -> torch.Tensor: ...
def to_model_input(images: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """uint8 images (N,48,48) or (N,1,48,48) -> float32 (N,1,48,48) scaled to [0, 1].

    A numpy array gives a numpy array (inference); a torch tensor gives a tensor on its device (training).
    """
    if images.ndim == 3:
        images = images[:, None]
    if isinstance(images, np.ndarray):
        return images.astype(np.float32) / np.float32(PIXEL_MAX)
    return images.float().div_(PIXEL_MAX)


def model_input_batches(images: torch.Tensor, batch_size: int, device: torch.device | str = "cpu") -> Iterator[torch.Tensor]:
    """A split's uint8 images (a torch tensor), in order, as model inputs of at most `batch_size` on
    `device` (moved before the float conversion: a quarter of the bytes cross to a GPU)."""
    for start in range(0, len(images), batch_size):
        yield to_model_input(images[start : start + batch_size].to(device))


def gray48_faces(crops: Sequence[np.ndarray]) -> np.ndarray:
    """Face crops as cut from a frame -> their 48x48 uint8 gray images (N,48,48): what the model sees."""
    if len(crops) == 0:
        return np.empty((0, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    return np.stack([to_gray48(c) for c in crops])


def preprocess_faces(crops: Sequence[np.ndarray]) -> np.ndarray:
    """Face crops as cut from a frame -> one model-ready float32 batch (N,1,48,48) in [0, 1]."""
    return to_model_input(gray48_faces(crops))
