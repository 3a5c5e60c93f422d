"""Temporal smoothing: which frames run the detector, and per-face tracks with their own EMA.

The reference smoothed one global label; here each face is a track matched across frames by box
overlap (IoU), so two people never share a smoothed label. A track that goes unmatched keeps
its last box and label for `persistence` frames, which also covers the frames on which detection is
skipped. The values come from conf/webcam.yaml's `smoothing:` group (fer.inference.build reads them);
SMOOTHING_CHECKS, beside the code that uses them, is where they are checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from fer.numbers import Check, flag, fraction, whole_number

# conf/webcam.yaml `smoothing.<key>` -> its check (fer.numbers), run wherever settings enter.
SMOOTHING_CHECKS: dict[str, Check] = {
    "detect_every": partial(whole_number, minimum=1),
    "classify_in_background": flag,
    "persistence": partial(whole_number, minimum=0),
    "ema_alpha": partial(fraction, low=0.0, high=1.0, low_open=True),
    "box_alpha": partial(fraction, low=0.0, high=1.0, low_open=True),
    "iou_threshold": partial(fraction, low=0.0, high=1.0),
    "max_tracks": partial(whole_number, minimum=1),
}


def ema(previous: np.ndarray | None, new: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential moving average: alpha * new + (1 - alpha) * previous (new alone at the start)."""
    new = np.asarray(new, dtype=np.float64)
    if previous is None:
        return new.copy()
    return alpha * new + (1.0 - alpha) * previous


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in a (N,4) with every box in b (M,4); boxes are x, y, w, h."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


class FrameSkipper:
    """Run the detector on every `detect_every`-th frame; 1 means every frame."""

    def __init__(self, detect_every: int):
        self.detect_every = detect_every

    def should_detect(self, index: int) -> bool:
        return index % self.detect_every == 0


@dataclass
class Track:
    id: int
    box: np.ndarray  # float x, y, w, h (smoothed when box_alpha < 1)
    probs: np.ndarray  # EMA of the class probabilities
    raw_probs: np.ndarray  # the latest detection's own probabilities
    first_seen: int
    last_seen: int  # frame index of the latest matching detection
    hits: int = 1

    def fresh(self, index: int) -> bool:
        return self.last_seen == index


class FaceTracker:
    """Greedy IoU matching of detections to tracks, a probability EMA per track, and expiry. Boxes and
    probabilities only: the faces themselves stay with the pipeline, which `detection_tracks` tells
    which track each detection of the last update went to."""

    def __init__(self, *, iou_threshold: float, ema_alpha: float, persistence: int, box_alpha: float,
                 max_tracks: int):
        self.iou_threshold = iou_threshold
        self.ema_alpha = ema_alpha
        self.persistence = persistence
        self.box_alpha = box_alpha
        self.max_tracks = max_tracks
        self.tracks: list[Track] = []
        self.detection_tracks: list[int] = []  # the last update's detections -> their track ids, in order
        self._next_id = 1

    def reset(self) -> None:
        self.tracks = []
        self.detection_tracks = []
        self._next_id = 1

    def update(self, index: int, boxes: np.ndarray, probs: np.ndarray) -> list[Track]:
        """Fold one frame's detections in; returns the live tracks (matched, new and persisting)."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        self.detection_tracks = [0] * len(boxes)
        unmatched = set(range(len(boxes)))
        if self.tracks and len(boxes):
            iou = iou_matrix(np.stack([t.box for t in self.tracks]), boxes)
            # Best pairs first; each track and detection is used at most once.
            for ti, di in zip(*np.unravel_index(np.argsort(-iou, axis=None), iou.shape), strict=True):
                if iou[ti, di] < self.iou_threshold:
                    break
                track = self.tracks[ti]
                if di not in unmatched or track.last_seen == index:
                    continue
                unmatched.discard(di)
                track.box = ema(track.box, boxes[di], self.box_alpha)
                track.probs = ema(track.probs, probs[di], self.ema_alpha)
                track.raw_probs = np.asarray(probs[di], dtype=np.float64)
                track.last_seen = index
                self.detection_tracks[di] = track.id
                track.hits += 1
        for di in sorted(unmatched):
            self.tracks.append(Track(self._next_id, boxes[di].copy(), ema(None, probs[di], 1.0),
                                     np.asarray(probs[di], dtype=np.float64), index, index))
            self.detection_tracks[di] = self._next_id
            self._next_id += 1
        return self.expire(index)

    def expire(self, index: int) -> list[Track]:
        """Drop tracks unseen for more than `persistence` frames; returns the live ones."""
        self.tracks = [t for t in self.tracks if index - t.last_seen <= self.persistence]
        if len(self.tracks) > self.max_tracks:  # keep the most recently seen
            self.tracks = sorted(self.tracks, key=lambda t: -t.last_seen)[: self.max_tracks]
        return list(self.tracks)
