"""The browser demo in a real headless Chromium whose fake camera plays a real clip.

Needs FER_MEDIA (the clip), the `chromium` Debian package and the playwright Python package; it is
skipped without them. Set FER_SCREENSHOT_DIR to keep the screenshot (docs/results/ holds the README's).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from live_helpers import media, needs_media
from service_helpers import live_server, write_y4m

from fer.constants import CLASSES

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]

pytestmark = [needs_media, pytest.mark.skipif(CHROMIUM is None, reason="apt-get install -y chromium")]


@pytest.fixture(scope="module")
def app():
    from fer.service import create_app

    return create_app()


def test_camera_page_shows_labelled_boxes(app, tmp_path: Path):
    sync_api = pytest.importorskip("playwright.sync_api")
    # Frames 30-59 of the clip: he smiles throughout, so a still of the page reads at a glance.
    camera = write_y4m(media("single_face.mp4"), tmp_path / "camera.y4m", start=30)
    with live_server(app) as url, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=[*FLAGS, f"--use-file-for-fake-video-capture={camera}"])
        try:
            page = browser.new_page(viewport={"width": 1040, "height": 560})
            page.goto(url)
            page.wait_for_function("Number(document.body.dataset.results) >= 5 && "
                                   "document.querySelectorAll('#faces li').length > 0", timeout=60_000)
            faces = page.eval_on_selector_all(
                "#faces li", "els => els.map(e => ({label: e.dataset.label, box: e.dataset.box,"
                             " confidence: Number(e.dataset.confidence)}))")
            state = page.evaluate("document.body.dataset.state")
            # The panel shows the face the model saw (not a black square): mean red level of the crop canvas.
            page.wait_for_timeout(300)
            crop_level = page.evaluate("""(() => {
                const d = document.getElementById('crop').getContext('2d').getImageData(0, 0, 192, 192).data;
                let sum = 0;
                for (let i = 0; i < d.length; i += 4) sum += d[i];
                return sum / (d.length / 4);
            })()""")
            fps = page.text_content("#fps")
            shot = tmp_path / "browser_demo.png"
            page.screenshot(path=str(shot))
            # The file picker: a photo goes to /v1/predict, a clip streams like the camera.
            page.set_input_files("#file", str(media("multi_face.jpg")))
            page.wait_for_function("document.body.dataset.state === 'photo' && "
                                   "document.querySelectorAll('#faces li').length >= 3", timeout=60_000)
            photo_faces = page.eval_on_selector_all("#faces li", "els => els.map(e => e.dataset.label)")
            shown = int(page.evaluate("document.body.dataset.results"))
            page.set_input_files("#file", str(media("single_face.mp4")))
            page.wait_for_function(f"document.body.dataset.state === 'streaming' && "
                                   f"Number(document.body.dataset.results) >= {shown + 3} && "
                                   "document.querySelectorAll('#faces li').length > 0", timeout=60_000)
        finally:
            browser.close()
    assert state == "streaming"
    assert crop_level > 30, f"the model-input panel is dark (mean level {crop_level:.0f})"
    assert faces and all(f["label"] in CLASSES for f in faces)
    assert all(0 < f["confidence"] <= 1 for f in faces)
    x, y, w, h = (int(v) for v in faces[0]["box"].split(","))
    assert w > 50 and h > 50  # a face of the 640x360 clip, in the sent frame's pixels
    assert fps != "--"
    assert shot.stat().st_size > 10_000
    assert len(photo_faces) >= 3 and set(photo_faces) <= set(CLASSES)
    if os.environ.get("FER_SCREENSHOT_DIR"):
        out = Path(os.environ["FER_SCREENSHOT_DIR"])
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, out / "browser_demo.png")


def test_api_docs_render_offline(app):
    """/docs draws every route from the service's own copy of Swagger UI (no CDN, no network)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with live_server(app) as url, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page()
            foreign = []
            page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(url) else None)
            page.goto(f"{url}/docs")
            page.wait_for_selector(".opblock-summary-path", timeout=60_000)
            paths = page.eval_on_selector_all(".opblock-summary-path", "els => els.map(e => e.dataset.path)")
        finally:
            browser.close()
    assert {"/healthz", "/v1/predict", "/v1/analyze"} <= set(paths)
    assert foreign == []
