"""The page shows every string from a model, a request or a reply as text: hostile class names in real Chromium.

A model file is untrusted: its class names reach the page through /healthz (the bars) and every reply
(the labels), and an upload's file name comes back in error messages. Here they are all markup that
would run script if it were ever put into the page as HTML. Needs the `chromium` Debian package and
the playwright Python package (skipped without them); the fake camera's own test pattern is the video.
"""

from __future__ import annotations

import shutil

import pytest
from live_helpers import FixedDetector, lightning_style_checkpoint
from service_helpers import live_server

from fer.api.recognizer import Recognizer
from fer.service import ServiceSettings, create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
HOSTILE = ['<img src=x onerror="window.__ran = (window.__ran || 0) + 1">',
           '<svg onload="window.__ran = 1"></svg>',
           '</span><script>window.__ran = 1</script><b class="injected">']
HOSTILE_FILE = "<img src=y onerror=window.__ran=2>.svg"  # no quotes: browsers send those as %22
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64"/></svg>'

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="apt-get install -y chromium")


def test_hostile_class_names_and_file_names_show_as_text(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    ckpt = lightning_style_checkpoint(tmp_path / "hostile.ckpt", model="fastcnn", model_kwargs={"width": 8},
                                      class_names=HOSTILE)
    recognizer = Recognizer(ckpt=ckpt, detector=FixedDetector([[200, 120, 160, 160]]))
    photo = tmp_path / HOSTILE_FILE  # the browser shows it; the server refuses it (415), naming the file
    photo.write_text(SVG)
    app = create_app(ServiceSettings(), recognizer)
    dialogs = []
    with live_server(app) as url, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(url)
            page.wait_for_function("Number(document.body.dataset.results) >= 3 && "
                                   "document.querySelectorAll('#faces li').length > 0", timeout=60_000)
            bars = page.eval_on_selector_all("#bars .bar .name", "els => els.map(e => e.textContent)")
            bar_classes = page.eval_on_selector_all("#bars .bar", "els => els.map(e => e.dataset.class)")
            label = page.eval_on_selector("#faces li", "e => e.dataset.label")
            face_text = page.text_content("#faces li")
            heading = page.text_content("#heading")
            page.set_input_files("#file", str(photo))
            page.wait_for_function("document.body.dataset.state === 'photo' && "
                                   "document.getElementById('message').textContent.includes('neither')",
                                   timeout=60_000)
            message = page.text_content("#message")
            ran = page.evaluate("window.__ran")
            injected = page.evaluate("document.querySelectorAll('img, svg, script:not([src]), .injected').length")
        finally:
            browser.close()
    assert ran is None and dialogs == [], "markup from the model or a reply ran as script"
    assert injected == 0, "markup from the model or a reply became elements of the page"
    assert bars == HOSTILE and bar_classes == HOSTILE  # each name shown exactly, as text
    assert label in HOSTILE and face_text.startswith(f"face 1: {label} ") and face_text.endswith("%")
    assert heading.startswith(tuple(HOSTILE))
    assert HOSTILE_FILE in message
