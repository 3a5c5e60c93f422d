"""CenterFace: a small anchor-free CNN face detector, run with ONNX Runtime.

Its ONNX weights (7 MB, MIT) ship inside this package as fer/weights/centerface.onnx (the
authors' centerface_bnmerged.onnx with free input dimensions, made by tools/centerface_dynamic.py;
provenance and licence in fer/weights/LICENSE-centerface), so it loads offline. ONNX Runtime runs it
faster than OpenCV's DNN module on the same CPU (docs/benchmarks.md) and takes every input size with one
session.
The network predicts, on a grid 4x coarser than its input, a face centre heatmap, the box size (log scale) and a sub-cell offset; decoding is a threshold and NMS.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from fer.errors import DetectorError
from fer.inference.detectors.base import clip_boxes, no_boxes, register_detector, squarify
from fer.numbers import fraction, positive_number, whole_number

STRIDE = 4  # output grid cell size in input pixels
ALIGN = 32  # the network downsamples 32x, so its input sides must be multiples of this
MAX_PHOTO_ASPECT = 3  # a photo's detector input is at most this many times taller than wide


WEIGHTS = Path(__file__).resolve().parents[2] / "weights" / "centerface.onnx"


def bundled_weights() -> Path:
    """Path of the CenterFace weights shipped in fer/weights/."""
    if not WEIGHTS.is_file():
        raise DetectorError(f"{WEIGHTS} is missing; reinstall ferkit, pass detector.weights=PATH to a "
                            "centerface.onnx, or use the Haar detector: detector=haar")
    return WEIGHTS


def photo_scale(width: int, height: int, photo_width: int) -> float:
    """How much a photo is resized for the detector: to photo_width wide, up or down, but never
    taller than MAX_PHOTO_ASPECT times that (a long strip would otherwise cost without bound)."""
    return min(photo_width / width, MAX_PHOTO_ASPECT * photo_width / height)


def shrink(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average `frame` down to `size` (w, h). Halving first with INTER_LINEAR averages each 2x2 block
    exactly, as INTER_AREA would, at a fraction of its cost (docs/benchmarks.md); INTER_AREA then does only
    the last, small step."""
    while frame.shape[1] >= 2 * size[0] and frame.shape[0] >= 2 * size[1]:
        frame = cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


@register_detector("centerface")
class CenterFaceDetector:
    """input_width: video and camera frames are shrunk to this width before detection (height keeps
    the aspect). threads: ONNX Runtime's threads for the network (None: one per core).
    photo_input_width: a photo (`detect_photo`) is resized, up or down, to this width
    instead, so a face of a given share of the photo's width has the same size for the network
    whatever the photo's size (None: photos are sized like frames)."""

    name = "centerface"
    CHECKS = {
        "input_width": partial(whole_number, minimum=ALIGN),
        "photo_input_width": partial(whole_number, minimum=ALIGN, allow_none=True),
        "threshold": partial(fraction, low=0.0, high=1.0),
        "nms_threshold": partial(fraction, low=0.0, high=1.0),
        "box_scale": positive_number,
        "threads": partial(whole_number, minimum=1, allow_none=True),
    }

    def __init__(
        self,
        *,
        input_width: int,
        threshold: float,
        nms_threshold: float,
        box_scale: float,
        photo_input_width: int | None,
        threads: int | None,
        square: bool = True,
        weights: str | None = None,
    ):
        self.weights = Path(weights) if weights else bundled_weights()
        self.input_width = int(input_width)
        self.photo_input_width = None if photo_input_width is None else int(photo_input_width)
        self.threshold = threshold
        self.nms_threshold = nms_threshold
        self.box_scale = box_scale
        self.square = square
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0  # 0: ONNX Runtime's choice, one per physical core
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(self.weights), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # ONNX Runtime raises its own exception types for unreadable models
            raise DetectorError(f"could not load {self.weights}: {e}; recreate it with "
                                "tools/centerface_dynamic.py or reinstall ferkit") from None
        self._input = self._session.get_inputs()[0].name

    def detect(self, frame: np.ndarray) -> np.ndarray:
        """A video or camera frame: shrunk to input_width (never enlarged), the fast live setting."""
        return self._detect(frame, min(1.0, self.input_width / frame.shape[1]))

    def detect_photo(self, frame: np.ndarray) -> np.ndarray:
        """A photo: resized to photo_input_width, up or down, so small faces in large photos and
        whole faces in small images both reach the network at a size it finds."""
        if self.photo_input_width is None:
            return self.detect(frame)
        return self._detect(frame, photo_scale(frame.shape[1], frame.shape[0], self.photo_input_width))

    def _detect(self, frame: np.ndarray, scale: float) -> np.ndarray:
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        h, w = frame.shape[:2]
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        if (sw, sh) == (w, h):
            scale, small = 1.0, frame
        else:
            small = shrink(frame, (sw, sh)) if scale < 1 else cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_LINEAR)
        pw, ph = math.ceil(sw / ALIGN) * ALIGN, math.ceil(sh / ALIGN) * ALIGN
        if (pw, ph) != (sw, sh):
            small = cv2.copyMakeBorder(small, 0, ph - sh, 0, pw - sw, cv2.BORDER_CONSTANT, value=0)
        blob = np.ascontiguousarray(small[None, :, :, ::-1].transpose(0, 3, 1, 2), dtype=np.float32)  # RGB, NCHW
        heat, size, offset, _landmarks = self._session.run(None, {self._input: blob})
        boxes, scores = self._decode(heat[0, 0], size[0], offset[0])
        if len(boxes) == 0:
            return no_boxes()
        keep = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), self.threshold, self.nms_threshold)
        boxes = boxes[np.asarray(keep, dtype=np.int64).reshape(-1)] / scale
        if self.square:
            boxes = squarify(boxes, self.box_scale)
        return clip_boxes(boxes, w, h)

    def _decode(self, heat: np.ndarray, size: np.ndarray, offset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ys, xs = np.nonzero(heat > self.threshold)
        if len(ys) == 0:
            return np.zeros((0, 4)), np.zeros(0)
        bh = np.exp(size[0, ys, xs]) * STRIDE
        bw = np.exp(size[1, ys, xs]) * STRIDE
        cy = (ys + offset[0, ys, xs] + 0.5) * STRIDE
        cx = (xs + offset[1, ys, xs] + 0.5) * STRIDE
        boxes = np.stack([cx - bw / 2, cy - bh / 2, bw, bh], axis=1)
        return boxes, heat[ys, xs].astype(np.float64)
