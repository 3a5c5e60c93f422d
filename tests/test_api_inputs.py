"""What the Python API and live runs accept: a photo turned by its EXIF orientation gives one answer by path,
bytes, PIL or the service; images over the pixel limit (one setting, conf/webcam.yaml's max_image_pixels)
are refused before decoding; arguments that cannot work are refused with what to do."""

from __future__ import annotations

import io
import logging

import cv2
import live_helpers
import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient
from live_helpers import FixedDetector, declared_png, synthetic_frame, tiny_model, write_video
from PIL import Image

from fer.api.recognizer import Recognizer
from fer.api.settings import live_settings
from fer.errors import CheckpointError, ConfigError, SourceError
from fer.inference.images import TooManyPixels
from fer.service import ServiceSettings, create_app

UPRIGHT_BOX = (20, 30, 60, 80)  # x, y, w, h of the bright patch in the photo as it is meant to be seen


class BrightDetector:
    """The box around the bright patch: where it lands shows which way up the image was read."""

    name = "bright"

    def detect(self, frame):
        ys, xs = np.nonzero(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) > 200)
        if not len(xs):
            return np.zeros((0, 4), np.int32)
        return np.array([[xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]], np.int32)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("ckpt"))


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory):
    path = tmp_path_factory.mktemp("huge") / "huge.png"
    path.write_bytes(declared_png(16000, 16000))  # 256 megapixels declared in about 250 KB
    return path


def upright_photo() -> np.ndarray:
    x, y, w, h = UPRIGHT_BOX
    photo = np.random.default_rng(1).integers(0, 90, (200, 300, 3), dtype=np.uint8)
    photo[y:y + h, x:x + w] = np.linspace(210, 255, w, dtype=np.uint8)[None, :, None]
    return photo


def stored(orientation: int, fmt: str) -> bytes:
    """The photo as a camera stores it: pixels turned, and the EXIF orientation that turns them back."""
    turned = {3: np.rot90(upright_photo(), 2), 6: np.rot90(upright_photo(), 1)}[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(turned[..., ::-1])).save(buf, fmt, exif=exif.tobytes(), quality=95)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("orientation", [3, 6])
def test_one_photo_gives_one_answer_by_path_bytes_pil_and_the_service(ckpt, tmp_path, orientation, fmt):
    data = stored(orientation, fmt)
    path = tmp_path / f"photo.{fmt.lower()}"
    path.write_bytes(data)
    recognizer = Recognizer(ckpt=ckpt, detector=BrightDetector())
    with Image.open(path) as pil:
        answers = {"path": recognizer.predict(path), "bytes": recognizer.predict(data), "pil": recognizer.predict(pil)}
    with TestClient(create_app(ServiceSettings(), recognizer)) as client:
        body = client.post("/v1/predict", files={"file": (path.name, data)}).json()
    assert (body["width"], body["height"]) == (300, 200)
    answers["service"] = body["faces"]
    for route, faces in answers.items():
        (face,) = faces
        face = face if isinstance(face, dict) else face.to_dict()
        assert tuple(face["box"]) == UPRIGHT_BOX, route
        assert face["label"] == answers["path"][0].label, route
        assert face["confidence"] == pytest.approx(answers["path"][0].confidence, abs=1e-3), route


@live_helpers.needs_media
def test_a_real_phone_photo_held_sideways_gives_one_answer(tmp_path):
    """single_face.jpg stored turned, with orientation 6, through the bundled model and CenterFace."""
    with Image.open(live_helpers.media("single_face.jpg")) as im:
        exif = Image.Exif()
        exif[0x0112] = 6
        im.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "sideways.jpg", exif=exif.tobytes(), quality=95)
    recognizer = Recognizer()
    by_path = recognizer.predict(tmp_path / "sideways.jpg")
    with Image.open(tmp_path / "sideways.jpg") as pil:
        by_pil = recognizer.predict(pil)
    assert len(by_path) == len(by_pil) == 1
    assert by_pil[0].box == by_path[0].box and by_pil[0].label == by_path[0].label
    assert by_pil[0].confidence == pytest.approx(by_path[0].confidence, abs=1e-3)


def test_the_pixel_limit_refuses_before_decoding_by_path_bytes_and_pil(ckpt, huge_png):
    recognizer = Recognizer(ckpt=ckpt, detector=FixedDetector([[0, 0, 8, 8]]))
    for image in (huge_png, huge_png.read_bytes()):
        with pytest.raises(TooManyPixels, match="declares 256 megapixels; the limit is 40 megapixels"):
            recognizer.predict(image)
    with pytest.raises(TooManyPixels):
        recognizer.stream().process(huge_png.read_bytes())
    # PIL opens this one lazily (it is under PIL's own bomb limit): it is refused before it is loaded.
    with Image.open(io.BytesIO(declared_png(8000, 8000))) as pil:
        with pytest.raises(TooManyPixels, match="8000x8000 pixels .64 megapixels.; the limit is 40 megapixels"):
            recognizer.predict(pil)


def test_one_pixel_setting_for_the_api_arrays_and_streams(ckpt):
    small = Recognizer(ckpt=ckpt, detector=FixedDetector([[0, 0, 8, 8]]), settings={"max_image_pixels": 50_000})
    frame = synthetic_frame(240, 320)  # 76,800 pixels
    for run in (small.predict, small.stream().process):
        with pytest.raises(TooManyPixels, match="320x240 pixels"):
            run(frame)
    assert len(small.predict(frame[:200, :200])) == 1
    for bad in (0, "many", 2.5, None):
        with pytest.raises(ConfigError, match="max_image_pixels="):
            Recognizer(ckpt=ckpt, detector=FixedDetector(), settings={"max_image_pixels": bad})


def test_the_service_takes_its_pixel_limit_from_the_webcam_setting():
    from pathlib import Path

    webcam = yaml.safe_load((Path(__file__).resolve().parents[1] / "conf" / "webcam.yaml").read_text())
    assert ServiceSettings().max_image_pixels == webcam["max_image_pixels"] == live_settings()["max_image_pixels"]
    assert ServiceSettings.from_config(None, pipeline={"max_image_pixels": 5}).max_image_pixels == 5
    both = ServiceSettings.from_config({"max_image_pixels": 7}, pipeline={"max_image_pixels": 5})
    assert both.max_image_pixels == 7  # an explicit service value still wins
    with pytest.raises(ConfigError, match="max_image_pixels=-5"):
        ServiceSettings.from_config(None, pipeline={"max_image_pixels": -5})


def test_a_headless_folder_run_skips_an_image_over_the_limit(ckpt, huge_png, tmp_path, caplog):
    from fer.live.run import run

    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a_huge.png").write_bytes(huge_png.read_bytes())
    cv2.imwrite(str(folder / "b_small.png"), synthetic_frame())
    cfg = live_settings({"ckpt": str(ckpt), "detector": {"name": "haar"}, "threads": 1})
    cfg.update(headless=True, source=str(folder), output=str(tmp_path / "out"), jsonl=None, max_frames=None)
    with caplog.at_level(logging.WARNING):
        assert run(cfg) == 0
    assert any("a_huge.png declares 256 megapixels" in r.getMessage() for r in caplog.records)
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.suffix == ".png") == ["b_small_png_annotated.png"]


def test_a_folder_is_not_an_image_and_analyze_checks_its_arguments(ckpt, tmp_path):
    recognizer = Recognizer(ckpt=ckpt, detector=FixedDetector([[0, 0, 8, 8]]))
    with pytest.raises(SourceError, match=f"{tmp_path} is a folder, not an image: pass one image file.*source="):
        recognizer.predict(tmp_path)
    with pytest.raises(SourceError, match="analyze reads a video file: pass its path, not a bytes"):
        recognizer.analyze(b"\x00\x00\x00\x18ftypmp42")
    clip = write_video(tmp_path / "clip.mp4", frames=3)
    for bad in (-1, 0, 1.5, "3"):
        with pytest.raises(ConfigError, match=f"max_frames={bad!r} must be a whole number >= 1"):
            recognizer.analyze(clip, max_frames=bad)
    assert len(recognizer.analyze(clip, max_frames=2).frames) == 2


def test_a_missing_or_folder_checkpoint_is_named_for_every_kind_of_file(tmp_path):
    for name in ("no_such.ckpt", "no_such.pt", "no_such.onnx"):
        with pytest.raises(CheckpointError, match=f"checkpoint not found: .*{name}"):
            Recognizer(ckpt=tmp_path / name)
    with pytest.raises(CheckpointError, match="is a folder; pass the .ckpt, .pt or .onnx file"):
        Recognizer(ckpt=tmp_path)
