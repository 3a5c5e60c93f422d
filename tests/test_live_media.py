"""Real photos and videos (FER_MEDIA): detectors, headless runs and the bundled model's labels."""

import json

import cv2
import numpy as np
import pytest
from live_helpers import classifier, media, needs_media, read_video

from fer.checkpoints import BUNDLED_MODEL
from fer.errors import DetectorError
from fer.inference.classifier import EmotionClassifier
from fer.inference.detectors import create_detector
from fer.inference.pipeline import LivePipeline
from fer.inference.sources import open_source
from fer.inference.tracking import FaceTracker
from fer.live.headless import run_headless

pytestmark = needs_media

LABELLED = {"0-f1-su-ph.jpg": "surprise", "0-f15-hao-ph.jpg": "happy", "15-f13-anc-ph.jpg": "angry",
            "45-m7-di-ph.jpg": "disgust"}


def centerface(**kw):
    try:
        return create_detector("centerface", **kw)
    except DetectorError as e:
        pytest.skip(str(e))


@pytest.mark.parametrize("make", [lambda: create_detector("haar"), lambda: centerface()], ids=["haar", "centerface"])
def test_detectors_find_the_five_faces(make):
    boxes = make().detect(cv2.imread(str(media("multi_face.jpg"))))
    assert len(boxes) == 5
    assert (boxes[:, 2] > 60).all() and (boxes[:, 3] > 60).all()


@pytest.mark.parametrize("make", [lambda: create_detector("haar", detect_scale=0.5),
                                  lambda: centerface(input_width=160)], ids=["haar-half", "centerface-160"])
def test_fast_settings_still_find_single_faces(make):
    det = make()
    for name in ("single_face.jpg", "0-f15-hao-ph.jpg", "0-f1-su-ph.jpg"):
        assert len(det.detect(cv2.imread(str(media(name))))) == 1, name


def test_centerface_finds_the_face_haar_misses():
    frame = cv2.imread(str(media("45-m7-di-ph.jpg")))
    assert len(centerface().detect(frame)) == 1


@pytest.mark.parametrize("detector", ["haar", "centerface"])
def test_headless_real_video(tmp_path, detector):
    det = create_detector("haar", detect_scale=0.5) if detector == "haar" else centerface()
    pipe = LivePipeline(det, classifier(tmp_path), FaceTracker(), detect_every=2)
    with open_source(str(media("single_face.mp4"))) as src:
        summary = run_headless(pipe, src, tmp_path / "out.mp4", max_frames=30)
    assert summary.frames == 30 and summary.frames_with_faces == 30  # every frame labelled
    records = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert {tuple(r["track_ids"]) for r in records} == {(1,)}  # one face, one track throughout
    assert len(read_video(tmp_path / "out.mp4")) == 30


def test_video_without_faces(tmp_path):
    pipe = LivePipeline(create_detector("haar", detect_scale=0.5), classifier(tmp_path), FaceTracker())
    with open_source(str(media("no_face.mp4"))) as src:
        summary = run_headless(pipe, src, tmp_path / "out.mp4", max_frames=20)
    assert summary.frames == 20 and summary.frames_with_faces == 0


def bundled() -> EmotionClassifier:
    if not BUNDLED_MODEL.is_file():
        pytest.skip("no bundled model in fer/weights yet")
    return EmotionClassifier.from_path(None)


def photo_label(clf: EmotionClassifier, name: str) -> str | None:
    """The largest face's label; Haar first, CenterFace (when installed) where Haar finds none."""
    frame = cv2.imread(str(media(name)))
    result = LivePipeline(create_detector("haar"), clf, FaceTracker(), detect_every=1).process(frame, 0)
    if not result.faces:
        try:
            det = create_detector("centerface", box_scale=1.05)
        except DetectorError:
            return None
        result = LivePipeline(det, clf, FaceTracker(), detect_every=1).process(frame, 0)
    return result.primary.label if result.faces else None


def test_bundled_model_reads_happy():
    assert photo_label(bundled(), "0-f15-hao-ph.jpg") == "happy"


def test_bundled_model_reads_another_labelled_photo():
    clf = bundled()
    others = {name: photo_label(clf, name) for name in LABELLED if name != "0-f15-hao-ph.jpg"}
    assert any(got == LABELLED[name] for name, got in others.items()), others


def test_bundled_model_metadata():
    clf = bundled()
    assert clf.meta.get("test_accuracy") and "FER-2013" in clf.meta.get("data", "")
    assert BUNDLED_MODEL.stat().st_size < 6_000_000
    assert np.isclose(clf.predict([cv2.imread(str(media("single_face.jpg")))]).sum(), 1, atol=1e-4)

