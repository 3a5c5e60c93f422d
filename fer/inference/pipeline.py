"""One frame in, faces out: detect (every N-th frame), preprocess, classify in one batch, smooth."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from fer.inference.classifier import EmotionClassifier
from fer.inference.detectors import FaceDetector
from fer.inference.smoothing import FaceTracker, FrameSkipper, Track

STAGES = ("decode", "detect", "preprocess", "classify", "smooth", "render")


@dataclass
class FaceResult:
    track_id: int
    box: tuple[int, int, int, int]  # x, y, w, h in frame pixels
    probs: np.ndarray  # smoothed class probabilities (sum 1)
    raw_probs: np.ndarray  # the latest detection's own probabilities
    label: str
    confidence: float
    crop: np.ndarray | None  # 48x48 uint8, exactly what the model saw
    fresh: bool  # detected on this very frame (False: carried over by persistence)

    @property
    def area(self) -> int:
        return self.box[2] * self.box[3]


@dataclass
class FrameResult:
    index: int
    faces: list[FaceResult]
    class_names: list[str]
    detected: bool  # the detector ran on this frame
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per stage

    @property
    def primary(self) -> FaceResult | None:
        """The largest face: the one the side panel shows."""
        return max(self.faces, key=lambda f: f.area) if self.faces else None


def cut(frame: np.ndarray, box: np.ndarray) -> np.ndarray:
    x, y, w, h = (int(v) for v in box)
    return frame[y:y + h, x:x + w]


class LivePipeline:
    def __init__(self, detector: FaceDetector, classifier: EmotionClassifier,
                 tracker: FaceTracker | None = None, detect_every: int = 2):
        self.detector = detector
        self.classifier = classifier
        self.tracker = tracker or FaceTracker()
        self.skipper = FrameSkipper(detect_every)
        self._index = 0

    @property
    def class_names(self) -> list[str]:
        return self.classifier.class_names

    def reset(self) -> None:
        """Forget every track (between unrelated images)."""
        self.tracker.reset()
        self._index = 0

    def process(self, frame: np.ndarray, index: int | None = None) -> FrameResult:
        index = self._index if index is None else index
        self._index = index + 1
        t = {s: 0.0 for s in STAGES if s not in ("decode", "render")}
        detected = self.skipper.should_detect(index)
        if detected:
            t0 = time.perf_counter()
            boxes = self.detector.detect(frame)
            t1 = time.perf_counter()
            batch = self.classifier.preprocess([cut(frame, b) for b in boxes])
            # The 48x48 crops for the panel come back from the batch itself: exactly what the model saw.
            crops = list(batch[:, 0].mul(255).round_().to(torch.uint8).numpy()) if len(boxes) else []
            t2 = time.perf_counter()
            probs = self.classifier.predict_batch(batch)
            t3 = time.perf_counter()
            tracks = self.tracker.update(index, boxes, probs, crops)
            t4 = time.perf_counter()
            t.update(detect=(t1 - t0) * 1e3, preprocess=(t2 - t1) * 1e3, classify=(t3 - t2) * 1e3,
                     smooth=(t4 - t3) * 1e3)
        else:
            t0 = time.perf_counter()
            tracks = self.tracker.expire(index)
            t["smooth"] = (time.perf_counter() - t0) * 1e3
        faces = [self._face(tr, index) for tr in tracks]
        return FrameResult(index, faces, self.class_names, detected, t)

    def _face(self, track: Track, index: int) -> FaceResult:
        top = int(np.argmax(track.probs))
        box = tuple(int(round(v)) for v in track.box)
        return FaceResult(track.id, box, track.probs, track.raw_probs, self.class_names[top],
                          float(track.probs[top]), track.crop, track.fresh(index))
