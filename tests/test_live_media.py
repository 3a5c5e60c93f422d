"""Real photos and videos (FER_MEDIA): detectors, headless runs and the bundled model's labels."""

import json

import cv2
import numpy as np
import pytest
from live_helpers import media, needs_media, pipeline, read_video, smoothing

from fer.checkpoints import BUNDLED_MODEL
from fer.errors import DetectorError
from fer.inference.build import build_pipeline
from fer.inference.classifier import EmotionClassifier
from fer.inference.detectors import create_detector
from fer.inference.sources import open_source
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
    pipe = pipeline(tmp_path, det, detect_every=2)
    with open_source(str(media("single_face.mp4"))) as src:
        summary = run_headless(pipe, src, tmp_path / "out.mp4", max_frames=30)
    assert summary.frames == 30 and summary.frames_with_faces == 30  # every frame labelled
    records = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert {tuple(r["track_ids"]) for r in records} == {(1,)}  # one face, one track throughout
    assert len(read_video(tmp_path / "out.mp4")) == 30


def test_video_without_faces(tmp_path):
    pipe = pipeline(tmp_path, create_detector("haar", detect_scale=0.5), detect_every=2)
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
    result = build_pipeline(smoothing(detect_every=1), create_detector("haar"), clf).process(frame, 0)
    if not result.faces:
        try:
            det = create_detector("centerface", box_scale=1.05)
        except DetectorError:
            return None
        result = build_pipeline(smoothing(detect_every=1), det, clf).process(frame, 0)
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



# Photos of any size: the photo path sizes the detector's input from the photo (conf/detector/centerface.yaml
# photo_input_width), so every face found at the photo's own size is found from 4000 px wide down to the
# width at which the smallest face is 20 px, and nothing else is.
PHOTOS = {"single_face.jpg": 1, "multi_face.jpg": 5, "0-f1-su-ph.jpg": 1, "0-f15-hao-ph.jpg": 1,
          "15-f13-anc-ph.jpg": 1, "45-m7-di-ph.jpg": 1}


def photo_detector():
    from fer.api.settings import live_settings

    settings = dict(live_settings()["detector"])
    return centerface(**{k: v for k, v in settings.items() if k != "name"})


def resized(image: np.ndarray, width: int) -> np.ndarray:
    s = width / image.shape[1]
    return cv2.resize(image, (width, max(1, round(image.shape[0] * s))),
                      interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x2 - x1) * max(0, y2 - y1)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def same_faces(found: np.ndarray, reference: np.ndarray) -> bool:
    """One box per reference face (IoU > 0.5) and no other box."""
    return len(found) == len(reference) and all(max(iou(r, f) for f in found) > 0.5 for r in reference)


@pytest.mark.parametrize("name", PHOTOS)
def test_photos_of_any_size_keep_every_face_and_add_none(name):
    det = photo_detector()
    image = cv2.imread(str(media(name)))
    reference = det.detect_photo(image).astype(np.float64)
    assert len(reference) == PHOTOS[name]
    smallest = int(np.ceil(20 * image.shape[1] / reference[:, 2].min()))  # the smallest face 20 px wide
    for width in (4000, 2560, 1280, 640, 320, smallest):
        found = det.detect_photo(resized(image, width)) * (image.shape[1] / width)  # in the photo's pixels
        assert same_faces(found, reference), (name, width, found.round().tolist())


def face_scene(width: int, face_share: float, faces: int = 3) -> tuple[np.ndarray, float]:
    """A plain 4:3 photo with `faces` copies of the real face in single_face.jpg, each face box
    `face_share` of the photo's width; returns it and the face boxes' width in pixels."""
    photo = cv2.imread(str(media("single_face.jpg")))
    x, y, w, h = create_detector("haar").detect(photo)[0]
    side = int(w * 1.6)  # the face with some head and background around it, as in a photo
    cx, cy = x + w // 2, y + h // 2
    crop = photo[max(0, cy - side // 2):cy + side // 2, max(0, cx - side // 2):cx + side // 2]
    face_px = face_share * width
    patch = resized(crop, max(2, round(face_px * crop.shape[1] / w)))
    height = width * 3 // 4
    scene = np.full((height, width, 3), (90, 110, 120), np.uint8)
    for i in range(faces):
        px, py = int((i + 0.5) * width / faces - patch.shape[1] / 2), (height - patch.shape[0]) // 2
        scene[py:py + patch.shape[0], px:px + patch.shape[1]] = patch[:height - py, :width - px]
    return scene, face_px


@pytest.mark.parametrize("width", [160, 320, 640, 1280, 2560, 4000])
def test_faces_a_twentieth_of_the_photo_wide_are_found_at_any_photo_size(width):
    scene, _ = face_scene(width, 0.05)
    assert len(photo_detector().detect_photo(scene)) == 3


def test_a_small_photo_is_enlarged_for_the_detector():
    scene, face_px = face_scene(100, 0.1)  # 10-px faces: too small for the network until enlarged
    det = photo_detector()
    assert face_px == 10 and len(det.detect(scene)) == 0 and len(det.detect_photo(scene)) == 3


def test_a_large_photo_of_one_person_gets_its_face_everywhere_a_photo_goes(tmp_path):
    import fer
    from fer.api.settings import live_settings
    from fer.inference.build import build_pipeline

    scene, _ = face_scene(2560, 0.05, faces=1)  # a face 5% of a 2560-px photo: 8 px at the live 160 px
    recognizer = fer.Recognizer()
    assert len(recognizer.detector.detect(scene)) == 0  # the live setting misses it...
    assert len(recognizer.predict(scene)) == 1  # ...the photo path finds it
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "big.jpg"), scene)
    with open_source(str(folder)) as src:
        summary = run_headless(build_pipeline(live_settings()), src, tmp_path / "out")
    assert summary.frames == 1 and summary.frames_with_faces == 1
