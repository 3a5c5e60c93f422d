"""The detector interface and registry, box helpers, and CenterFace's shipped weights."""

import numpy as np
import pytest
from live_helpers import synthetic_frame

from fer.errors import ConfigError, DetectorError
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
    with pytest.raises(ConfigError, match="detector.detect_scale=0 must be a number in"):
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


def test_centerface_weights_ship_in_the_package_with_their_licence():
    from fer.inference.detectors import centerface

    assert centerface.bundled_weights().parent.name == "weights"
    assert (centerface.WEIGHTS.parent / "LICENSE-centerface").is_file()
    assert create_detector("centerface").weights == centerface.WEIGHTS


def test_centerface_without_its_weights_says_what_to_do(monkeypatch, tmp_path):
    from fer.inference.detectors import centerface

    monkeypatch.setattr(centerface, "WEIGHTS", tmp_path / "centerface.onnx")
    with pytest.raises(DetectorError, match=r"is missing; reinstall ferkit.*detector=haar"):
        create_detector("centerface")


def test_centerface_on_a_frame_without_faces():
    try:
        det = create_detector("centerface", input_width=160)
    except DetectorError as e:
        pytest.skip(str(e))
    for frame in (synthetic_frame(), np.zeros((480, 640), np.uint8)):
        assert det.detect(frame).shape == (0, 4)


def test_photo_scale_sizes_photos_of_any_size_to_the_photo_width():
    from fer.inference.detectors.centerface import MAX_PHOTO_ASPECT, photo_scale

    assert photo_scale(4000, 3000, 640) == pytest.approx(0.16)  # large photos shrink...
    assert photo_scale(100, 75, 640) == pytest.approx(6.4)  # ...small ones are enlarged
    # A face 5% of the width is 32 px for the network at every size.
    assert all(0.05 * w * photo_scale(w, w * 3 // 4, 640) == pytest.approx(32) for w in (100, 640, 2560, 4000))
    # A long strip is held to MAX_PHOTO_ASPECT times the photo width in height.
    assert 4000 * photo_scale(100, 4000, 640) == pytest.approx(MAX_PHOTO_ASPECT * 640)


def centerface_or_skip(**kw):
    try:
        return create_detector("centerface", **kw)
    except DetectorError as e:
        pytest.skip(str(e))


class RecordingSession:
    """Wraps the detector's ONNX Runtime session and records the (width, height) of every input."""

    def __init__(self, session):
        self.session, self.shapes = session, []

    def run(self, outputs, feed):
        (blob,) = feed.values()
        self.shapes.append((blob.shape[3], blob.shape[2]))
        return self.session.run(outputs, feed)


def recording(det) -> RecordingSession:
    det._session = RecordingSession(det._session)
    return det._session


def test_centerface_sizes_photos_for_the_network_and_frames_for_speed():
    det = centerface_or_skip(input_width=160, photo_input_width=640)
    seen = recording(det)
    for w, h in ((4000, 3000), (100, 75)):
        frame = np.zeros((h, w, 3), np.uint8)
        seen.shapes.clear()
        assert det.detect_photo(frame).shape == (0, 4)
        assert seen.shapes == [(640, 480)]  # up or down to the photo width
        seen.shapes.clear()
        det.detect(frame)
        assert seen.shapes == [(160, 128) if w > 160 else (128, 96)]  # live frames: shrunk, never enlarged


def test_centerface_without_a_photo_width_sizes_photos_like_frames():
    det = centerface_or_skip(input_width=160, photo_input_width=None)
    seen = recording(det)
    det.detect_photo(np.zeros((3000, 4000, 3), np.uint8))
    assert seen.shapes == [(160, 128)]


def test_centerface_one_session_takes_every_input_size():
    """The shipped weights have free input dimensions: photos of many shapes share one session."""
    det = centerface_or_skip(input_width=160, photo_input_width=64)
    seen = recording(det)
    for h in range(32, 32 * 6, 32):
        assert det.detect_photo(np.zeros((h, 64, 3), np.uint8)).shape == (0, 4)
    assert seen.shapes == [(64, h) for h in range(32, 32 * 6, 32)]


def test_centerface_rejects_a_photo_width_below_its_grid():
    with pytest.raises(ConfigError, match="detector.photo_input_width=16 must be a whole number >= 32"):
        create_detector("centerface", photo_input_width=16)


def test_the_old_name_of_the_photo_width_still_works():
    with pytest.warns(FutureWarning, match="still_input_width is now called detector.photo_input_width"):
        det = centerface_or_skip(still_input_width=320)
    assert det.photo_input_width == 320


def test_photos_use_the_detectors_photo_setting_and_frames_the_live_one(tmp_path):
    from live_helpers import pipeline

    class TwoSettings:
        name = "two_settings"

        def __init__(self):
            self.calls = []

        def detect(self, frame):
            self.calls.append("live")
            return np.zeros((0, 4), np.int32)

        def detect_photo(self, frame):
            self.calls.append("photo")
            return np.zeros((0, 4), np.int32)

    det = TwoSettings()
    pipe = pipeline(tmp_path, det)
    pipe.process(synthetic_frame(), 0, photo=True)
    pipe.process(synthetic_frame(), 1)
    assert det.calls == ["photo", "live"]
    plain = pipeline(tmp_path, create_detector("haar"))  # a detector with one setting serves both
    assert plain.process(synthetic_frame(), 0, photo=True).faces == []


def test_the_default_settings_size_photos_for_the_network():
    from fer.api.settings import live_settings

    det = live_settings()["detector"]
    assert det["name"] == "centerface" and det["photo_input_width"] > det["input_width"]
