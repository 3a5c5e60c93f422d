"""Frames that change under a stream, and boxes that do not fit the frame: a stream whose frame size changes
starts its tracks afresh (`Recognizer.stream()` and `WS /v1/stream`), and a detector box partly off the
frame is clipped to it, an empty one dropped."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from live_helpers import FixedDetector, synthetic_frame, tiny_model

from fer.api.recognizer import Recognizer
from fer.errors import DetectorError
from fer.service import ServiceSettings, create_app


class CentreDetector:
    """One face box in the lower right quarter of whatever frame it is given."""

    name = "centre"

    def detect(self, frame):
        h, w = frame.shape[:2]
        return np.array([[w // 2, h // 2, w // 4, h // 4]], dtype=np.int32)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("ckpt"))


def inside(box, frame) -> bool:
    x, y, w, h = box
    return x >= 0 and y >= 0 and x + w <= frame.shape[1] and y + h <= frame.shape[0]


def test_a_stream_starts_afresh_when_the_frame_size_changes(ckpt):
    # Detection on every second frame, long persistence: without the reset the old box would live on.
    stream = Recognizer(ckpt=ckpt, detector=CentreDetector(),
                        settings={"smoothing": {"detect_every": 2, "persistence": 15}}).stream()
    wide, small = synthetic_frame(240, 320), synthetic_frame(120, 160)
    for _ in range(3):
        assert [f.box for f in stream.process(wide)] == [(160, 120, 80, 60)]
    for turned in (small, small, small.transpose(1, 0, 2).copy()):
        faces = stream.process(turned)  # the first frame of each size is detected, whatever its index
        h, w = turned.shape[:2]
        assert [f.box for f in faces] == [(w // 2, h // 2, w // 4, h // 4)]
        assert all(inside(f.box, turned) for f in faces)


def test_the_websocket_stream_starts_afresh_when_the_frame_size_changes(ckpt):
    recognizer = Recognizer(ckpt=ckpt, detector=CentreDetector(), settings={"smoothing": {"persistence": 15}})
    with TestClient(create_app(ServiceSettings(), recognizer)) as client, \
            client.websocket_connect("/v1/stream") as ws:
        for frame in (synthetic_frame(240, 320),) * 2 + (synthetic_frame(120, 160),) * 2:
            ws.send_bytes(cv2.imencode(".jpg", frame)[1].tobytes())
            reply = ws.receive_json()
            h, w = frame.shape[:2]
            assert reply["type"] == "result" and (reply["width"], reply["height"]) == (w, h)
            assert [f["box"] for f in reply["faces"]] == [[w // 2, h // 2, w // 4, h // 4]]


def test_boxes_off_the_frame_are_clipped_and_empty_ones_dropped(ckpt):
    boxes = [[-20, -10, 80, 80], [300, 200, 100, 100], [10, 10, 0, 30], [400, 400, 10, 10], [50, 50, -5, 20],
             [-90, 10, 40, 40]]
    frame = synthetic_frame(240, 320)
    recognizer = Recognizer(ckpt=ckpt, detector=FixedDetector(boxes))
    faces = recognizer.predict(frame)
    assert sorted(f.box for f in faces) == [(0, 0, 60, 70), (300, 200, 20, 40)]
    assert all(f.crop.shape == (48, 48) for f in faces)
    stream = recognizer.stream()
    for _ in range(3):
        assert sorted(f.box for f in stream.process(frame)) == [(0, 0, 60, 70), (300, 200, 20, 40)]


class Answers:
    """Returns exactly what it was given, floats and all."""

    name = "answers"

    def __init__(self, boxes):
        self.boxes = boxes

    def detect(self, frame):
        return self.boxes


def test_float_and_non_finite_boxes_and_a_malformed_detector_answer(ckpt):
    frame = synthetic_frame(240, 320)
    boxes = np.array([[10.7, 20.2, 50.9, 50.1], [np.nan, 0, 10, 10], [0, 0, np.inf, 10]])
    assert [f.box for f in Recognizer(ckpt=ckpt, detector=Answers(boxes)).predict(frame)] == [(10, 20, 50, 50)]
    with pytest.raises(DetectorError, match=r"shape \(3,\)"):
        Recognizer(ckpt=ckpt, detector=Answers(np.array([1, 2, 3]))).predict(frame)
