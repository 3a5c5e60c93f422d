"""The one preprocessing path shared by training data readers and live inference.

A face crop of any size or colour becomes a 48x48 uint8 grayscale image (`to_gray48`), and a
batch of those becomes the model's float input in [0, 1] (`to_model_input`).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch

from fer.constants import IMAGE_SIZE


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


def to_model_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (N,48,48) or (N,1,48,48) -> float32 (N,1,48,48) scaled to [0, 1]."""
    if images.ndim == 3:
        images = images.unsqueeze(1)
    return images.float().div_(255.0)


def preprocess_faces(crops: Sequence[np.ndarray]) -> torch.Tensor:
    """Face crops as cut from a frame -> one model-ready batch (N,1,48,48) in [0, 1]."""
    if len(crops) == 0:
        return torch.empty(0, 1, IMAGE_SIZE, IMAGE_SIZE)
    gray = np.stack([to_gray48(c) for c in crops])
    return to_model_input(torch.from_numpy(gray))
