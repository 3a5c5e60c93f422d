"""A model with classes of its own (three from a folder tree; FER+'s eight, contempt included) through every
application on real media: the Python API, a headless run with its split screen, the service and its page.
Nothing downstream of the model may assume FER-2013's seven classes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from fastapi.testclient import TestClient
from live_helpers import lightning_style_checkpoint, media, needs_media
from service_helpers import live_server, write_y4m

from fer.api.recognizer import Recognizer
from fer.checkpoints.loading import load_model
from fer.checkpoints.onnx_export import export_onnx
from fer.constants import CLASSES_WITH_CONTEMPT
from fer.service import ServiceSettings, create_app

ROOT = Path(__file__).resolve().parents[1]
CLASS_SETS = {"3-class": ["calm", "joy", "shock"], "8-class": list(CLASSES_WITH_CONTEMPT)}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = needs_media


@pytest.fixture(scope="module", params=list(CLASS_SETS), ids=list(CLASS_SETS))
def model(request, tmp_path_factory) -> tuple[list[str], Path]:
    """The class names and an .onnx file of a small network with those classes (what `ferkit export` writes)."""
    names = CLASS_SETS[request.param]
    folder = tmp_path_factory.mktemp(request.param)
    ckpt = lightning_style_checkpoint(folder / "model.ckpt", model="fastcnn", model_kwargs={"width": 8},
                                      class_names=names)
    export_onnx(load_model(ckpt), folder / "model.onnx")
    return names, folder / "model.onnx"


def assert_faces_use(names: list[str], faces: list[dict]) -> None:
    assert faces, "the photo's face was not found"
    for face in faces:
        assert face["label"] in names and list(face["probabilities"]) == names
        assert abs(sum(face["probabilities"].values()) - 1) < 1e-3


def test_recognizer_predicts_the_models_classes(model):
    names, path = model
    rec = Recognizer(path)
    assert rec.class_names == names
    assert_faces_use(names, [f.to_dict() for f in rec.predict(str(media("single_face.jpg")))])
    analysis = rec.analyze(str(media("single_face.mp4")), max_frames=6)
    assert analysis.class_names == names
    assert next(line for line in analysis.to_csv().splitlines() if not line.startswith("#")).endswith(",".join(names))


def test_headless_run_writes_the_models_classes_and_draws_a_bar_each(model, tmp_path):
    names, path = model
    out = tmp_path / "annotated.mp4"
    cmd = [sys.executable, str(ROOT / "scripts" / "webcam.py"), "headless=true", f"ckpt={path}",
           f"source={media('single_face.mp4')}", f"output={out}", "max_frames=8", f"hydra.run.dir={tmp_path}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    records = [json.loads(line) for line in out.with_suffix(".jsonl").read_text().splitlines()]
    assert len(records) == 8
    for r in records:
        assert all(list(p) == names for p in r["probabilities"]) and set(r["labels"]) <= set(names)
    assert any(r["labels"] for r in records)
    cap = cv2.VideoCapture(str(out))
    ok, frame = cap.read()
    cap.release()
    assert ok and frame.shape[1] > 640  # the clip's frame plus the split screen's panel of bars


def test_service_health_and_predict_name_the_models_classes(model):
    names, path = model
    with TestClient(create_app(ServiceSettings(), Recognizer(path))) as client:
        health = client.get("/healthz").json()
        assert health["classes"] == names and health["path"] == str(path)
        with media("single_face.jpg").open("rb") as f:
            reply = client.post("/v1/predict", files={"file": ("face.jpg", f, "image/jpeg")})
        assert reply.status_code == 200, reply.text
        assert_faces_use(names, reply.json()["faces"])


@pytest.mark.skipif(CHROMIUM is None, reason="apt-get install -y chromium")
def test_page_draws_one_bar_per_class(model, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    names, path = model
    camera = write_y4m(media("single_face.mp4"), tmp_path / "camera.y4m", frames=20, start=30)
    app = create_app(ServiceSettings(), Recognizer(path))
    with live_server(app) as url, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={camera}"])
        try:
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function("document.querySelectorAll('#faces li').length > 0", timeout=60_000)
            bars = page.eval_on_selector_all("#bars .bar", "els => els.map(e => e.dataset.class)")
            label = page.eval_on_selector("#faces li", "e => e.dataset.label")
        finally:
            browser.close()
    assert bars == names and label in names
