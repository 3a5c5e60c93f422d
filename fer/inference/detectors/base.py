"""Face detectors behind one interface: `create_detector(name, **kwargs).detect(frame)`.

Every detector takes a BGR (or gray) frame and returns an int array (K, 4) of boxes
(x, y, w, h) in that frame's pixels, so the rest of the pipeline never knows which one ran.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from fer.errors import DetectorError
from fer.inference.conf_files import detector_settings
from fer.numbers import check_values, renamed_settings

_DETECTORS: dict[str, Callable[..., FaceDetector]] = {}


@runtime_checkable
class FaceDetector(Protocol):
    name: str

    def detect(self, frame: np.ndarray) -> np.ndarray:
        """BGR/gray frame -> int32 boxes (K, 4) as x, y, w, h in frame pixels."""
        ...


def register_detector(name: str):
    def wrap(factory: Callable[..., FaceDetector]) -> Callable[..., FaceDetector]:
        if name in _DETECTORS:
            raise ValueError(f"detector {name!r} is registered twice")
        _DETECTORS[name] = factory
        return factory

    return wrap


def list_detectors() -> list[str]:
    return sorted(_DETECTORS)


def create_detector(name: str, **kwargs) -> FaceDetector:
    """Build a registered detector, e.g. create_detector('haar', detect_scale=0.5).

    Arguments not given come from conf/detector/<name>.yaml, the one place their defaults are written.
    """
    kwargs = renamed_settings({"detector": kwargs})["detector"]  # still_input_width= and the like keep working
    settings = {**{k: v for k, v in detector_settings(name).items() if k != "name"}, **kwargs}
    check_detector_settings(name, settings)
    return _DETECTORS[name](**settings)


def check_detector_settings(name: str, settings: dict) -> None:
    """The checks a detector declares (its CHECKS: argument -> fer.numbers check) on `settings`, named as
    the config's `detector.<argument>`, so a bad value is refused before any model loads."""
    if name not in _DETECTORS:
        raise DetectorError(f"unknown detector {name!r}; choose one of: {', '.join(list_detectors())}")
    check_values(settings, getattr(_DETECTORS[name], "CHECKS", {}), "detector")


def no_boxes() -> np.ndarray:
    return np.zeros((0, 4), dtype=np.int32)


def to_gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def clip_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Clip float/int boxes to the frame; drop the ones left with no area."""
    if len(boxes) == 0:
        return no_boxes()
    b = np.asarray(boxes, dtype=np.float64)
    x1 = np.clip(b[:, 0], 0, width)
    y1 = np.clip(b[:, 1], 0, height)
    x2 = np.clip(b[:, 0] + b[:, 2], 0, width)
    y2 = np.clip(b[:, 1] + b[:, 3], 0, height)
    out = np.stack([x1, y1, x2 - x1, y2 - y1], axis=1).round().astype(np.int32)
    return out[(out[:, 2] >= 2) & (out[:, 3] >= 2)]


def squarify(boxes: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Square boxes around the same centres (side = longer edge x scale), like Haar's crops.

    FER-2013 faces are square crops, so a tall detector box is widened rather than squashed.
    """
    if len(boxes) == 0:
        return np.zeros((0, 4), dtype=np.float64)
    b = np.asarray(boxes, dtype=np.float64)
    side = np.maximum(b[:, 2], b[:, 3]) * scale
    cx = b[:, 0] + b[:, 2] / 2
    cy = b[:, 1] + b[:, 3] / 2
    return np.stack([cx - side / 2, cy - side / 2, side, side], axis=1)
