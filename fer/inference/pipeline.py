"""One frame in, faces out: detect (every N-th frame), preprocess, classify in one batch, smooth."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from fer.errors import DetectorError
from fer.inference.classifier import EmotionClassifier
from fer.inference.detectors import FaceDetector
from fer.inference.tracking import FaceTracker, FrameSkipper, Track

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


def clip_boxes(boxes: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A detector's (K, 4) x, y, w, h boxes clipped to the frame; boxes empty there (or not finite) are dropped,
    so a face at the edge is cut where the frame ends and nothing empty reaches the resize."""
    b = np.asarray(boxes, dtype=np.float64)
    if b.size == 0:
        return np.zeros((0, 4), dtype=np.int32)
    if b.ndim != 2 or b.shape[1] != 4:
        raise DetectorError(f"the detector returned boxes of shape {b.shape}; it must return (K, 4) "
                            "x, y, width, height")
    b = b[np.isfinite(b).all(axis=1)]
    h, w = shape[:2]
    x0, y0 = np.clip(b[:, 0], 0, w), np.clip(b[:, 1], 0, h)
    x1, y1 = np.clip(b[:, 0] + b[:, 2], 0, w), np.clip(b[:, 1] + b[:, 3], 0, h)
    out = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1).astype(np.int32)
    return out[(out[:, 2] > 0) & (out[:, 3] > 0)]


def cut(frame: np.ndarray, box: np.ndarray) -> np.ndarray:
    x, y, w, h = (int(v) for v in box)
    return frame[y:y + h, x:x + w]


def detect_faces(detector: FaceDetector, frame: np.ndarray, photo: bool) -> np.ndarray:
    """A photo goes to the detector's photo setting where it has one (CenterFace sizes its input from
    the photo); video frames keep the fast live setting. A detector's `detect_still`, the method's
    former name, is still called."""
    for method in ("detect_photo", "detect_still") if photo else ():
        if callable(getattr(detector, method, None)):
            return getattr(detector, method)(frame)
    return detector.detect(frame)


_worker: ThreadPoolExecutor | None = None


def classify_worker() -> ThreadPoolExecutor:
    """The one thread background classifications run on (shared by every pipeline, created on first use)."""
    global _worker
    if _worker is None:
        _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fer-classify")
    return _worker


class LivePipeline:
    """Built by fer.inference.build.build_pipeline from conf/webcam.yaml, which holds every value.

    classify_in_background: with detect_every >= 2, a detection frame's faces are classified on a worker
    thread while the loop goes on (ONNX Runtime and PyTorch release the GIL while they compute), so
    classification overlaps detection, drawing and decoding on the other core. While no face is tracked,
    and for photos, faces are classified at once.

    When the labels arrive depends on `live`, given with each frame. Frames of a file (live=False) take
    them at the next detection frame, after its detection, waiting for them when they are late: the
    results are a function of the frames alone, whatever the machine's load. A camera's frames
    (live=True) take them on the first frame that finds them ready, at the latest that same point."""

    def __init__(self, detector: FaceDetector, classifier: EmotionClassifier, tracker: FaceTracker, *,
                 detect_every: int, classify_in_background: bool):
        self.detector = detector
        self.classifier = classifier
        self.tracker = tracker
        self.skipper = FrameSkipper(detect_every)
        self.classify_in_background = classify_in_background and detect_every >= 2
        self._pending: tuple[int, np.ndarray, Future, np.ndarray] | None = None
        self._faces48: dict[int, np.ndarray] = {}  # track id -> its latest face, as the model was given it
        self._index = 0
        self._frame_size: tuple[int, int] | None = None  # (height, width) of the frames the tracks are on

    @property
    def class_names(self) -> list[str]:
        return self.classifier.class_names

    def reset(self) -> None:
        """Forget every track (between unrelated images)."""
        if self._pending is not None:
            self._pending[2].cancel()
        self.tracker.reset()
        self._faces48 = {}
        self._pending = None
        self._index = 0
        self._frame_size = None

    def process(self, frame: np.ndarray, index: int | None = None, photo: bool = False,
                live: bool = False) -> FrameResult:
        # Another frame size (a camera switched, a phone turned): the tracks' boxes belong to the old frames.
        resized = self._frame_size is not None and frame.shape[:2] != self._frame_size
        if resized:
            self.reset()
        self._frame_size = frame.shape[:2]
        index = self._index if index is None else index
        self._index = index + 1
        t = {s: 0.0 for s in STAGES if s not in ("decode", "render")}
        detected = photo or resized or self.skipper.should_detect(index)
        if live and self._pending is not None and not detected and self._pending[2].done():
            self._apply_pending(t)
        if detected:
            t0 = time.perf_counter()
            boxes = clip_boxes(detect_faces(self.detector, frame, photo), frame.shape)
            t1 = time.perf_counter()
            # The 48x48 faces are kept for the panel: they are what the model is given, not a copy of it.
            crops = self.classifier.faces48([cut(frame, b) for b in boxes])
            batch = self.classifier.model_input(crops)
            t["detect"], t["preprocess"] = (t1 - t0) * 1e3, (time.perf_counter() - t1) * 1e3
            if self._pending is not None:  # after this detection, which gave it the detector's time to finish
                self._apply_pending(t)
            # Nothing on screen yet: label a new face on the frame it is found rather than the next.
            if self.classify_in_background and not photo and self.tracker.tracks:
                self._pending = (index, boxes, classify_worker().submit(self.classifier.predict_batch, batch), crops)
            else:
                self._classify(index, boxes, lambda: self.classifier.predict_batch(batch), crops, t)
        t0 = time.perf_counter()
        tracks = self.tracker.expire(index)
        self._faces48 = {tr.id: self._faces48[tr.id] for tr in tracks if tr.id in self._faces48}
        t["smooth"] += (time.perf_counter() - t0) * 1e3
        faces = [self._face(tr, index) for tr in tracks]
        return FrameResult(index, faces, self.class_names, detected, t)

    def _apply_pending(self, t: dict[str, float]) -> None:
        """The last detection's faces, classified meanwhile on the worker: at the next detection (before
        its own faces), or earlier once ready for live frames, so at most one classification is in flight
        and the tracker sees detections in order. Only the wait for it counts as classify time."""
        assert self._pending is not None  # called only while a classification is in flight
        (index, boxes, probs, crops), self._pending = self._pending, None
        self._classify(index, boxes, probs.result, crops, t)

    def _classify(self, index: int, boxes: np.ndarray, probs: Callable[[], np.ndarray], crops: np.ndarray,
                  t: dict[str, float]) -> None:
        t0 = time.perf_counter()
        ready = probs()
        t1 = time.perf_counter()
        self.tracker.update(index, boxes, ready)
        self._faces48.update(zip(self.tracker.detection_tracks, crops, strict=True))
        t["classify"] += (t1 - t0) * 1e3
        t["smooth"] += (time.perf_counter() - t1) * 1e3

    def _face(self, track: Track, index: int) -> FaceResult:
        top = int(np.argmax(track.probs))
        x, y, w, h = (int(round(v)) for v in track.box)
        return FaceResult(track.id, (x, y, w, h), track.probs, track.raw_probs, self.class_names[top],
                          float(track.probs[top]), self._faces48.get(track.id), track.fresh(index))
