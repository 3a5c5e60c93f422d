"""Whatever a caller hands over as an image (a path, encoded bytes, a numpy array, a PIL image) -> BGR uint8."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fer.errors import SourceError


def decode_image(data: bytes) -> np.ndarray:
    """Encoded image bytes (JPEG, PNG, ...) -> BGR uint8."""
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise SourceError("the bytes are not an image OpenCV can decode (empty, damaged or another format)")
    return image


def read_image(path: str | Path) -> np.ndarray:
    path = Path(path).expanduser()
    if not path.is_file():
        raise SourceError(f"image not found: {path}")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SourceError(f"cannot read {path} as an image (unsupported or damaged file)")
    return image


def from_array(array: np.ndarray) -> np.ndarray:
    """Gray (H, W) or (H, W, 1), BGR (H, W, 3) or BGRA (H, W, 4), uint8 -> BGR uint8."""
    if array.dtype != np.uint8:
        raise SourceError(f"image arrays must be uint8 (0-255), got {array.dtype}; "
                          "convert with (array * 255).astype(np.uint8) if it holds values in [0, 1]")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2BGR)
    if array.ndim == 3 and array.shape[2] == 3:
        return np.ascontiguousarray(array)
    if array.ndim == 3 and array.shape[2] == 4:
        return cv2.cvtColor(array, cv2.COLOR_BGRA2BGR)
    raise SourceError(f"an image array must be (H, W), (H, W, 1), (H, W, 3) BGR or (H, W, 4) BGRA; "
                      f"got shape {array.shape}")


def is_pil_image(obj: Any) -> bool:
    pil = sys.modules.get("PIL.Image")  # a PIL image can only exist if PIL is already imported
    return pil is not None and isinstance(obj, pil.Image)


def to_bgr(image: Any) -> np.ndarray:
    """A path, encoded bytes, a numpy array (BGR or gray, like OpenCV) or a PIL image -> BGR uint8."""
    if isinstance(image, (str, Path)):
        return read_image(image)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return decode_image(bytes(image))
    if isinstance(image, np.ndarray):
        return from_array(image)
    if is_pil_image(image):
        return cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2BGR)
    raise SourceError(f"cannot use a {type(image).__name__} as an image: pass a path, encoded bytes, "
                      "a numpy array (BGR or gray) or a PIL image")
