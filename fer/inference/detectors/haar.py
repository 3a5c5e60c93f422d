"""OpenCV's Haar cascade face detector; conf/detector/haar.yaml holds the reference system's parameters."""

from __future__ import annotations

from functools import partial

import cv2
import cv2.data  # the cascades' folder (the stubs of cv2 do not name this submodule)
import numpy as np

from fer.errors import ConfigError, DetectorError
from fer.inference.detectors.base import clip_boxes, no_boxes, register_detector, to_gray
from fer.numbers import fraction, positive_number, whole_number


def more_than_one(value, name: str) -> float:
    """The cascade's scale step: each pyramid level is this much smaller than the last, so it must exceed 1."""
    if not positive_number(value, name) > 1:
        raise ConfigError(f"{name}={value!r} must be a number > 1 (e.g. 1.1)")
    return float(value)


@register_detector("haar")
class HaarDetector:
    """OpenCV's frontal-face Haar cascade (the reference's detector and parameters).

    detect_scale < 1 runs the cascade on a shrunk frame: the cost falls with the pixel count,
    and min_size stays in full-frame pixels (it is shrunk with the frame, never below the
    cascade's own 24 px window).
    """

    name = "haar"
    CHECKS = {
        "scale_factor": more_than_one,
        "min_neighbors": partial(whole_number, minimum=0),
        "min_size": partial(whole_number, minimum=1),
        "detect_scale": partial(fraction, low=0.0, high=1.0, low_open=True),
    }

    def __init__(
        self,
        *,
        scale_factor: float,
        min_neighbors: int,
        min_size: int,
        detect_scale: float,
        cascade: str = "haarcascade_frontalface_default.xml",
    ):
        path = cascade if "/" in cascade else cv2.data.haarcascades + cascade
        self.cascade = cv2.CascadeClassifier(path)
        if self.cascade.empty():
            raise DetectorError(f"could not load the Haar cascade {path}; reinstall opencv-python (4.x)")
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = min_size
        self.detect_scale = detect_scale

    def detect(self, frame: np.ndarray) -> np.ndarray:
        gray = to_gray(frame)
        h, w = gray.shape
        s = self.detect_scale
        small = gray if s == 1 else cv2.resize(gray, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        side = max(1, round(self.min_size * s))
        found = self.cascade.detectMultiScale(
            small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(side, side)
        )
        if len(found) == 0:
            return no_boxes()
        return clip_boxes(np.asarray(found, dtype=np.float64) / s, w, h)
