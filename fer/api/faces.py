"""One face as the Python API and the service hand it out: box, label, confidence, every probability."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from fer.inference.pipeline import FaceResult


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]  # x, y, width, height in image pixels
    label: str
    confidence: float  # probability of `label`
    probabilities: dict[str, float]  # every class, summing to 1 (smoothed over time in videos and streams)
    track_id: int  # which face this is across frames of a video or stream
    crop: np.ndarray | None = field(default=None, repr=False, compare=False)  # the 48x48 the model saw

    def __repr__(self) -> str:
        return (f"Face(track_id={self.track_id}, box={self.box}, label={self.label!r}, "
                f"confidence={self.confidence:.3f})")

    @classmethod
    def from_result(cls, face: FaceResult, class_names: list[str]) -> Face:
        probs = {c: float(p) for c, p in zip(class_names, face.probs, strict=True)}
        x, y, w, h = (int(v) for v in face.box)
        return cls((x, y, w, h), face.label, float(face.confidence), probs,
                   int(face.track_id), face.crop)

    def to_dict(self, crop: bool = False, digits: int = 5) -> dict[str, Any]:
        """JSON-ready; crop=True adds the model's 48x48 input as a PNG data URL."""
        out: dict[str, Any] = {
            "track_id": self.track_id,
            "box": list(self.box),
            "label": self.label,
            "confidence": round(self.confidence, digits),
            "probabilities": {c: round(p, digits) for c, p in self.probabilities.items()},
        }
        if crop and self.crop is not None:
            out["crop"] = png_data_url(self.crop)
        return out


def png_data_url(image: np.ndarray) -> str:
    ok, png = cv2.imencode(".png", image)
    if not ok:  # a uint8 array always encodes; anything else is a bug
        raise RuntimeError("PNG encoding of a face crop failed")
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode("ascii")
