"""Face-like stand-ins for FER-2013 when the data is absent: smooth gray blobs with eyes and a mouth.

Good enough to calibrate quantization ranges or exercise a pipeline; not for accuracy.
"""

from __future__ import annotations

import cv2
import numpy as np

from fer.constants import IMAGE_SIZE


def synthetic_faces(n: int, seed: int = 0) -> np.ndarray:
    """n uint8 images (n, 48, 48)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    c = IMAGE_SIZE // 2
    for i in range(n):
        img = rng.normal(90, 25, (IMAGE_SIZE, IMAGE_SIZE)).astype(np.float32)
        cv2.ellipse(img, (c, c), (16 + int(rng.integers(-3, 4)), 21), 0, 0, 360, float(rng.integers(120, 200)), -1)
        for dx in (-7, 7):
            cv2.circle(img, (c + dx, c - 5 + int(rng.integers(-2, 3))), 3, float(rng.integers(20, 70)), -1)
        cv2.ellipse(img, (c, c + 10), (7, int(rng.integers(1, 5))), 0, 0, 360, float(rng.integers(30, 90)), -1)
        out[i] = np.clip(cv2.GaussianBlur(img, (5, 5), 1.2), 0, 255).astype(np.uint8)
    return out
