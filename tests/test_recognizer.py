"""The Python API: fer.Recognizer on every kind of image input, videos -> Analysis, CSV and timeline."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from live_helpers import (
    CLASSES,
    MEDIA,
    FixedDetector,
    media,
    needs_media,
    synthetic_frame,
    tiny_model,
    write_video,
)
from PIL import Image

from fer.api.recognizer import Face, Recognizer
from fer.errors import SourceError

ROOT = Path(__file__).resolve().parents[1]
BOXES = [[40, 60, 80, 80], [190, 70, 70, 70]]


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("ckpt"))


@pytest.fixture
def recognizer(tiny_ckpt) -> Recognizer:
    return Recognizer(ckpt=tiny_ckpt, detector=FixedDetector(BOXES), settings={"smoothing": {"detect_every": 1}})


def check_faces(faces: list[Face], n: int = 2) -> None:
    assert len(faces) == n
    for face, box in zip(faces, BOXES, strict=False):
        assert face.box == tuple(box)
        assert list(face.probabilities) == list(CLASSES)
        assert sum(face.probabilities.values()) == pytest.approx(1, abs=1e-5)
        assert face.label == max(face.probabilities, key=face.probabilities.get)
        assert face.confidence == pytest.approx(face.probabilities[face.label])
        assert face.crop.shape == (48, 48) and face.crop.dtype == np.uint8


def test_import_fer_stays_light_and_exports_recognizer():
    code = ("import sys, fer; assert 'fer.api' not in sys.modules and 'torch' not in sys.modules; "
            "from fer.api.recognizer import Recognizer; assert fer.Recognizer is Recognizer")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_predict_takes_arrays_gray_pil_paths_and_bytes(recognizer, tmp_path):
    frame = synthetic_frame()
    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), frame)
    pil = Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    results = [recognizer.predict(x) for x in (frame, path, str(path), path.read_bytes(), pil)]
    for faces in results:
        check_faces(faces)
    # The same pixels give the same answer whatever the container.
    assert all(r[0].probabilities == pytest.approx(results[0][0].probabilities, abs=1e-4) for r in results)
    check_faces(recognizer.predict(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)))
    check_faces(recognizer.predict(cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)))
    d = results[0][0].to_dict(crop=True)
    assert d["crop"].startswith("data:image/png;base64,") and set(d["probabilities"]) == set(CLASSES)


def test_predict_is_independent_per_image(recognizer):
    first = recognizer.predict(synthetic_frame(seed=1))
    again = recognizer.predict(synthetic_frame(seed=1))
    assert [f.track_id for f in again] == [1, 2]  # no track carried over from the previous call
    assert again[0].probabilities == pytest.approx(first[0].probabilities)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((10, 10, 3), dtype=np.float32), "uint8"),
    (np.zeros((10, 10, 2), dtype=np.uint8), "shape"),
    ("no/such/photo.jpg", "not found"),
    (b"not an image", "decode"),
    (12, "cannot use a int"),
])
def test_predict_rejects_bad_images_with_a_clear_error(recognizer, bad, match):
    with pytest.raises(SourceError, match=match):
        recognizer.predict(bad)


def test_a_detector_name_picks_that_detector(tiny_ckpt):
    r = Recognizer(ckpt=tiny_ckpt, detector="haar", settings={"detector": {"name": "centerface"}})
    assert r.detector.name == "haar"
    assert r.predict(np.zeros((120, 160, 3), dtype=np.uint8)) == []


def test_analyze_tracks_faces_and_writes_csv_and_timeline(recognizer, tmp_path):
    pytest.importorskip("matplotlib", reason="the timeline needs ferkit[plot]")
    video = write_video(tmp_path / "clip.mp4", frames=12)
    analysis = recognizer.analyze(video)
    assert len(analysis.frames) == 12 and analysis.fps == pytest.approx(10)
    assert (analysis.width, analysis.height) == (320, 240)
    assert analysis.track_ids == [1, 2]
    assert analysis.frames[3].time_s == pytest.approx(0.3)
    analysis.to_csv(tmp_path / "out" / "clip.csv")
    with (tmp_path / "out" / "clip.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 24
    assert list(rows[0]) == ["frame", "time_s", "track_id", "x", "y", "width", "height", "label", "confidence",
                             *CLASSES]
    assert sum(float(rows[5][c]) for c in CLASSES) == pytest.approx(1, abs=1e-3)
    assert analysis.to_csv() == (tmp_path / "out" / "clip.csv").read_bytes().decode()
    png = analysis.plot_timeline(tmp_path / "timeline.png")
    image = cv2.imread(str(png))
    assert image is not None and image.shape[0] > 300  # two panels
    d = analysis.to_dict()
    assert d["frame_count"] == 12 and d["tracks"] == [1, 2] and len(d["frames"][0]["faces"]) == 2


def test_analyze_stops_at_max_frames_and_streams_keep_their_own_tracks(recognizer, tmp_path):
    analysis = recognizer.analyze(write_video(tmp_path / "clip.mp4", frames=8), max_frames=5)
    assert len(analysis.frames) == 5 and analysis.truncated
    a, b = recognizer.stream(), recognizer.stream()
    frame = synthetic_frame()
    assert [f.track_id for f in a.process(frame)] == [1, 2]
    assert [f.track_id for f in a.process(frame)] == [1, 2]
    assert [f.track_id for f in b.process(frame)] == [1, 2]


def test_analyze_of_a_broken_video_is_a_source_error(recognizer, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"junk" * 100)
    with pytest.raises(SourceError):
        recognizer.analyze(bad)


@needs_media
def test_real_photos_and_clip_with_the_bundled_model(tmp_path):
    r = Recognizer()
    assert len(r.predict(media("multi_face.jpg"))) >= 3
    face = r.predict(Image.open(media("single_face.jpg")))
    assert len(face) == 1 and face[0].box[2] > 100
    analysis = r.analyze(media("single_face.mp4"))
    assert sum(bool(fr.faces) for fr in analysis.frames) >= 0.9 * len(analysis.frames)


def test_analyze_script_writes_csv_and_plot(tmp_path):
    pytest.importorskip("matplotlib", reason="the timeline needs ferkit[plot]")
    real = MEDIA / "single_face.mp4" if MEDIA else None
    video = real if real and real.is_file() else write_video(tmp_path / "clip.mp4", frames=6)
    out = subprocess.run([sys.executable, "scripts/analyze.py", f"source={video}", f"csv={tmp_path}/a.csv",
                          f"plot={tmp_path}/t.png", f"hydra.run.dir={tmp_path}/run"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "a.csv").read_text().startswith("frame,time_s,track_id")
    assert cv2.imread(str(tmp_path / "t.png")) is not None
    missing = subprocess.run([sys.executable, "scripts/analyze.py", f"source={tmp_path}/none.mp4",
                              f"hydra.run.dir={tmp_path}/run2"], cwd=ROOT, capture_output=True, text=True)
    assert missing.returncode == 2 and "not found" in missing.stderr
